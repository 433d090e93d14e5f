# name: spill_scalar_32bit_keeps_bounds
# category: spill
# type: xdp
# map: array key=4 value=64 entries=1
# description: spills a scalar in [0, 56] with a 4-byte store and uses its 4-byte fill
# description: as an offset
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxb %r7, [%r0+0]
        and %r7, 0x38
        stxw [%r10-16], %r7
        mov %r7, 0
        ldxw %r7, [%r10-16]
        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
