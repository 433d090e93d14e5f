# name: prune_precision_jump_into_checkpoint
# category: bounds
# type: xdp
# map: array key=4 value=8 entries=1
# description: a path that jumps to a checkpoint and is pruned there must pass the
# description: checkpoint's precise registers back along the jump, not along the
# description: instruction before the target (which overwrites r6 here): r6 is then
# description: precise at the earlier join, and the path where it is 100 is not pruned
# verdict: reject
# kernel-message: invalid access to map value, value_size=8 off=100 size=8
        call 7                      # bpf_get_prandom_u32
        mov %r7, %r0
        call 7                      # bpf_get_prandom_u32
        mov %r8, %r0
        mov %r6, 0
        jeq %r7, 1, big
        ja cont
big:
        mov %r6, 100
cont:
        mov %r1, 1
        mov %r2, 2
        mov %r3, 3
        mov %r4, 4
        mov %r5, 5
        ja +0
        mov %r1, 1
        mov %r2, 2
        jeq %r8, 2, join
        mov %r6, 0
join:
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        add %r0, %r6
        ldxdw %r0, [%r0+0]
out:
        mov %r0, 0
        exit
