# name: spill_scalar_byte_fill
# category: spill
# type: xdp
# map: array key=4 value=64 entries=1
# description: spills a scalar in [0, 56] with an 8-byte store and fills only its
# description: lowest byte as an offset
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxb %r7, [%r0+0]
        and %r7, 0x38
        stxdw [%r10-16], %r7
        mov %r7, 0
        ldxb %r7, [%r10-16]
        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
