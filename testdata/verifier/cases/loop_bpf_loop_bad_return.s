# name: loop_bpf_loop_bad_return
# category: loop
# type: xdp
# description: the bpf_loop callback returns 2
# verdict: reject
# kernel-message: At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]
        mov %r1, 10
        lddw %r2, func cb
        mov %r3, 0
        mov %r4, 0
        call 181                    # bpf_loop
        mov %r0, 0
        exit
cb:
        mov %r0, 2
        exit
