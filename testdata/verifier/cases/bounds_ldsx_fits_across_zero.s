# name: bounds_ldsx_fits_across_zero
# category: bounds
# type: raw_tp
# description: a sign-extending load (ldsx) of a spilled scalar in [-16, 15]
# description: keeps [-16, 15], so the path where it is above 15 cannot happen
# description: and its read above the stack is never checked (Linux 6.18.44;
# description: earlier kernels give [-128, 127] and reject)
# kernel-change: sext-32bit-bounds
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov %r3, %r0
        jsgt %r3, 15, out
        jslt %r3, -16, out
        stxdw [%r10-8], %r3
        ldxsb %r4, [%r10-8]
        jsle %r4, 15, out
        ldxdw %r0, [%r10+8]
out:
        mov %r0, 0
        exit
