# name: helper_csum_diff_sizes
# category: helper
# type: xdp
# description: calls bpf_csum_diff with from_size 8 and to_size 4 (sizes must be
# description: multiples of 4, which the helper checks at run time)
# verdict: accept
        stdw [%r10-8], 0
        stdw [%r10-16], 0
        mov %r1, %r10
        add %r1, -8
        mov %r2, 8
        mov %r3, %r10
        add %r3, -16
        mov %r4, 4
        mov %r5, 0
        call 28                     # bpf_csum_diff
        mov %r0, 2
        exit
