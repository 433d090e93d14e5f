# name: loop_bpf_loop_nonzero_flags
# category: loop
# type: xdp
# description: calls bpf_loop with flags 1 (the helper fails at run time; the verifier
# description: allows it)
# verdict: accept
        mov %r1, 10
        lddw %r2, func cb
        mov %r3, 0
        mov %r4, 1
        call 181                    # bpf_loop
        mov %r0, 0
        exit
cb:
        mov %r0, 1
        exit
