# name: bounds_movsx_from_32bit_bounds
# category: bounds
# type: raw_tp
# map: array key=4 value=16 entries=1
# description: a 64-bit sign extension takes its bounds from the source's 32-bit
# description: ones: w3 -= 16 leaves r3 in [0, 0xffffffff] but w3 in [-16, 15],
# description: so r3 = (s16)r3 is in [-16, 15], and once positive it indexes the
# description: 16-byte value safely (Linux 6.18.44; earlier kernels give
# description: [-32768, 32767] and reject; from seed 1048865 of verifier's
# description: TestDifferential)
# kernel-change: sext-32bit-bounds
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov %r3, %r0
        and %r3, 31
        sub32 %r3, 16
        movsx1664 %r3, %r3
        jsle %r3, 0, out
        mov %r6, %r3
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        add %r0, %r6
        ldxb %r1, [%r0]
out:
        mov %r0, 0
        exit
