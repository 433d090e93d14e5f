# name: loop_bpf_loop
# category: loop
# type: xdp
# description: calls bpf_loop with a callback that returns 0
# verdict: accept
        mov %r1, 10
        lddw %r2, func cb
        mov %r3, 0
        mov %r4, 0
        call 181                    # bpf_loop
        mov %r0, 0
        exit
cb:
        mov %r0, 0
        exit
