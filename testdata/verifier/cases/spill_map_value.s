# name: spill_map_value
# category: spill
# type: xdp
# map: hash key=4 value=8 entries=4
# description: spills a checked map value pointer, fills it and writes through it
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        stxdw [%r10-16], %r0
        mov %r0, 0
        ldxdw %r1, [%r10-16]
        stdw [%r1+0], 1

out:
        mov %r0, 0
        exit
