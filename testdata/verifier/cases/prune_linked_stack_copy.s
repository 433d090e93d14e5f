# name: prune_linked_stack_copy
# category: bounds
# type: xdp
# map: array key=4 value=8 entries=1
# description: r6 and its stack copy at fp-8 share an id on the first path, so the test
# description: of r6 bounds the copy too; on the second path r6 is another number, and
# description: the copy stays 0-255. The path must not be pruned at the join: the test
# description: links the copy to r6 for precision (the kernel's linked registers include
# description: stack slots), which makes r6 precise there, and r6's id is then compared.
# description: A rule that compared ids of precise scalars only, with the links of
# description: registers only, would prune the second path and accept the access.
# verdict: reject
# kernel-message: invalid access to map value, value_size=8 off=255 size=1
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        and %r6, 0xff
        mov %r7, %r6                # r6 and r7 get an id
        stxdw [%r10-8], %r7         # the copy keeps it
        mov %r7, 0
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
