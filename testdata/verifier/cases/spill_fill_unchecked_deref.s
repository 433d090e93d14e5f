# name: spill_fill_unchecked_deref
# category: spill
# type: xdp
# map: hash key=4 value=8 entries=4
# description: spills an unchecked lookup result and dereferences the fill
# verdict: reject
# kernel-message: R1 invalid mem access 'map_value_or_null'
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        stxdw [%r10-16], %r0
        ldxdw %r1, [%r10-16]
        ldxdw %r0, [%r1+0]

out:
        mov %r0, 0
        exit
