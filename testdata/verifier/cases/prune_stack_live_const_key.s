# name: prune_stack_live_const_key
# category: stack
# type: xdp
# map: array key=4 value=8 entries=1
# description: the key of an array lookup is the constant 0 on the first path and
# description: unknown on the second; only the helper reads it, and the result is used
# description: without a NULL check: the key's slot is live at the join, so the
# description: second path is not pruned
# verdict: reject
# kernel-message: R0 invalid mem access 'map_value_or_null'
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        mov %r7, 1
        mov %r8, 2
        mov %r9, 3
        stxw [%r10-4], %r6
        jne %r6, 0, join
        stw [%r10-4], 0
join:
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        ldxdw %r0, [%r0+0]
        mov %r0, 0
        exit
