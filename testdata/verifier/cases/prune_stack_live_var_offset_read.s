# name: prune_stack_live_var_offset_read
# category: stack
# type: xdp
# map: array key=4 value=8 entries=1
# description: bytes 1-7 of a stack slot are zero on the first path and unknown on the
# description: second; after the join one of bytes 1-4 is read at a variable offset and used as an offset
# description: into a map value: the variable-offset read makes the slot live, so the
# description: second path is not pruned
# verdict: reject
# kernel-message: invalid access to map value, value_size=8 off=255 size=8
        call 7                      # bpf_get_prandom_u32
        mov %r7, %r0
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        mov %r8, 2
        mov %r9, 3
        stxdw [%r10-16], %r6
        jne %r6, 0, join
        stb [%r10-15], 0
        sth [%r10-14], 0
        stw [%r10-12], 0
join:
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        mov %r1, %r7
        and %r1, 3
        mov %r2, %r10
        add %r2, %r1
        ldxb %r1, [%r2-15]
        add %r0, %r1
        ldxdw %r0, [%r0+0]
out:
        mov %r0, 0
        exit
