# name: loop_bpf_loop_callback_reads_r3
# category: loop
# type: xdp
# description: the callback reads r3, which bpf_loop does not pass
# verdict: reject
# kernel-message: R3 !read_ok
        mov %r1, 10
        lddw %r2, func cb
        mov %r3, 0
        mov %r4, 0
        call 181                    # bpf_loop
        mov %r0, 0
        exit
cb:
        mov %r0, %r3
        and %r0, 1
        exit
