# name: prune_stack_misc_vs_spill
# category: bounds
# type: xdp
# map: array key=4 value=8 entries=1
# description: a slot of data bytes and bytes never written loads as any number in a
# description: privileged program, like an imprecise spilled scalar, and matches one at a
# description: join (the kernel's is_stack_all_misc); a precise spilled scalar is compared
# description: by its range: here the first path spills 3, used as an offset after the
# description: join, and the second path writes one byte of the slot and leaves the others
# description: unwritten, so a load gives any number. A rule that let such a slot match
# description: any spilled scalar would prune the second path and accept the access.
# verdict: reject
# kernel-message: math between map_value pointer and register with unbounded min value is not allowed
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        mov %r7, 0
        mov %r1, 1
        call 7
        mov %r8, %r0
        mov %r9, 0
        jne %r8, 0, other
        mov %r1, 3
        stxdw [%r10-8], %r1
        mov %r2, 2
        mov %r3, 3
        mov %r4, 4
        mov %r5, 5
        ja join
other:
        stb [%r10-4], 1
join:
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
