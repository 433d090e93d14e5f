# name: helper_csum_diff_stack_uninit
# category: helper
# type: xdp
# description: calls bpf_csum_diff over 8 bytes of stack that were never written
# verdict: accept
        mov %r1, %r10
        add %r1, -8
        mov %r2, 8
        mov %r3, 0
        mov %r4, 0
        mov %r5, 0
        call 28                     # bpf_csum_diff
        mov %r0, 2
        exit
