# name: prune_stack_live_partial_write
# category: stack
# type: xdp
# map: array key=4 value=8 entries=1
# description: the upper half of a stack slot is zero on the first path and unknown on
# description: the second; after the join the program writes the lower half and reads
# description: the upper half as an offset into a map value: a write of part of a slot
# description: does not make the slot dead, so the second path is not pruned
# verdict: reject
# kernel-message: R0 unbounded memory access, make sure to bounds check any such access
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        mov %r7, 1
        mov %r8, 2
        mov %r9, 3
        stxw [%r10-4], %r6
        jne %r6, 0, join
        stw [%r10-4], 0
join:
        stw [%r10-8], 0
        stw [%r10-12], 0
        mov %r2, %r10
        add %r2, -12
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        ldxw %r1, [%r10-4]
        add %r0, %r1
        ldxdw %r0, [%r0+0]
out:
        mov %r0, 0
        exit
