# name: helper_csum_diff_null_size_range
# category: helper
# type: xdp
# description: passes NULL as bpf_csum_diff's "from" with a from_size that is 0 or 4
# description: (a packet byte masked with 4): the size must be 0 on every path
# verdict: reject
# kernel-message: R1 type=scalar expected=fp
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        mov %r4, %r2
        add %r4, 1
        jgt %r4, %r3, out
        ldxb %r2, [%r2+0]
        and %r2, 4
        mov %r1, 0
        mov %r3, 0
        mov %r4, 0
        mov %r5, 0
        call 28                     # bpf_csum_diff
out:
        mov %r0, 2
        exit
