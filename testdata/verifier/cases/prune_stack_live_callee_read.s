# name: prune_stack_live_callee_read
# category: stack
# type: xdp
# map: array key=4 value=8 entries=1
# description: a stack slot holds 0 on the first path and 64 on the second; only a
# description: subprogram reads it, through a pointer, as an offset into a map value:
# description: the slot is live at the join, so the second path is not pruned
# verdict: reject
# kernel-message: invalid access to map value, value_size=8 off=64 size=8
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        mov %r7, 1
        mov %r8, 2
        mov %r9, 3
        stdw [%r10-8], 64
        jne %r6, 0, join
        stdw [%r10-8], 0
join:
        mov %r1, %r10
        add %r1, -8
        call local f
        exit
f:
        ldxdw %r6, [%r1+0]
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
