# name: prune_fill_link_join
# category: bounds
# type: xdp
# map: array key=4 value=8 entries=1
# description: A 4-byte spill and a 4-byte fill of it link the register loaded, the
# description: spilled register and the stack copy (the kernel links a 32-bit fill of a
# description: 32-bit spill): on the first path the test of r7 bounds the copy at fp-8.
# description: On the second path r7 is another number and the copy stays 0-255. The
# description: path must not be pruned at the join, where the copy is precise and
# description: shares r7's id in the checkpoint only. A rule that compared spilled
# description: scalars without their ids would prune it and accept the access.
# verdict: reject
# kernel-message: invalid access to map value, value_size=8 off=255 size=1
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        and %r6, 0xff
        stxw [%r10-8], %r6          # a 4-byte spill
        mov %r6, 0
        ldxw %r7, [%r10-8]          # a 4-byte fill: r7 and the copy share an id
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
        mov %r7, %r0
        and %r7, 0xff
join:
        jgt %r7, 3, out
        stw [%r10-12], 0
        mov %r2, %r10
        add %r2, -12
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        ldxw %r1, [%r10-8]
        add %r0, %r1
        ldxb %r0, [%r0+0]
out:
        mov %r0, 0
        exit
