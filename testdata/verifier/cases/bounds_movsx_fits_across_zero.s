# name: bounds_movsx_fits_across_zero
# category: bounds
# type: raw_tp
# map: array key=4 value=16 entries=1
# description: sign-extending a value already in the narrow type's signed range
# description: keeps it, even when the range crosses zero: after
# description: r3 = (s16)w3, r3 = (s32)r3 stays in [-32768, 32767], so the path
# description: where r3 == 0xffff cannot happen and its out-of-bounds read is
# description: never checked (Linux 6.18.44; earlier kernels widen the second
# description: extension to [S32_MIN, S32_MAX] and reject; from seed 1000285 of
# description: verifier's TestDifferential)
# kernel-change: sext-32bit-bounds
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov %r3, %r0
        and32 %r3, -1
        movsx1664 %r3, %r3
        movsx3264 %r3, %r3
        jsle32 %r3, 1, out
        jne %r3, 0xffff, out
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
