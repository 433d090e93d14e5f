# name: prune_spill_link_join
# category: bounds
# type: xdp
# map: array key=4 value=8 entries=1
# description: A spill links a scalar and its stack copy (the kernel's
# description: assign_scalar_id_before_mov on a spill): on the first path the test of r6
# description: bounds the copy at fp-8 too. On the second path r6 is another number and
# description: the copy stays 0-255. The path must not be pruned at the join: the copy
# description: is precise there and shares r6's id in the checkpoint, and on this path
# description: it does not. A rule that compared spilled scalars without their ids
# description: would prune the second path and accept the access.
# verdict: reject
# kernel-message: invalid access to map value, value_size=8 off=255 size=1
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        and %r6, 0xff
        stxdw [%r10-8], %r6         # r6 and its copy get an id
        call 7
        mov %r8, %r0
        jne %r8, 0, other
        mov %r1, 1
        mov %r2, 2
        mov %r3, 3
        mov %r4, 4
        mov %r5, 5
        ja join
other:
        call 7
        mov %r6, %r0
        and %r6, 0xff
join:
        jgt %r6, 3, out
        stw [%r10-12], 0
        mov %r2, %r10
        add %r2, -12
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        ldxdw %r1, [%r10-8]
        add %r0, %r1
        ldxb %r0, [%r0+0]
out:
        mov %r0, 0
        exit
