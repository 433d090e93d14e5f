# name: bounds_s64_cross_sign
# category: bounds
# type: raw_tp
# description: a 64-bit signed range across zero is tightened with the unsigned
# description: bounds: r3 & -16 has umax 0xfffffffffffffff0, so once r3 >= -1 it
# description: cannot be -1 and is in [0, 0x7ffffffffffffff0]: its sign bit is 0
# description: and the read above the stack is never checked (Linux 6.18.44;
# description: kernels without the deduction keep [-1, S64_MAX] and reject)
# kernel-change: s64-cross-sign
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov %r3, %r0
        and %r3, -16
        jslt %r3, -1, out
        mov %r4, %r3
        rsh %r4, 63
        jeq %r4, 0, out
        ldxdw %r0, [%r10+8]
out:
        mov %r0, 0
        exit
