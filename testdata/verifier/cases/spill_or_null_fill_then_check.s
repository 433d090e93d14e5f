# name: spill_or_null_fill_then_check
# category: spill
# type: xdp
# map: hash key=4 value=8 entries=4
# description: spills an unchecked lookup result, fills it, checks and dereferences the
# description: fill
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        stxdw [%r10-16], %r0
        ldxdw %r1, [%r10-16]
        jeq %r1, 0, out
        ldxdw %r0, [%r1+0]

out:
        mov %r0, 0
        exit
