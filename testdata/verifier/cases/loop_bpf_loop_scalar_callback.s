# name: loop_bpf_loop_scalar_callback
# category: loop
# type: xdp
# description: passes a scalar as bpf_loop's callback
# verdict: reject
# kernel-message: R2 type=scalar expected=func
        mov %r1, 10
        mov %r2, 0
        mov %r3, 0
        mov %r4, 0
        call 181                    # bpf_loop
        mov %r0, 0
        exit
