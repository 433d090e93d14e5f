# name: helper_csum_diff_null_zero
# category: helper
# type: xdp
# description: passes NULL as bpf_csum_diff's "to" with a to_size of 0: memory that
# description: may be NULL takes NULL with no bytes
# verdict: accept
        stdw [%r10-8], 0
        mov %r1, %r10
        add %r1, -8
        mov %r2, 8
        mov %r3, 0
        mov %r4, 0
        mov %r5, 0
        call 28                     # bpf_csum_diff
        mov %r0, 2
        exit
