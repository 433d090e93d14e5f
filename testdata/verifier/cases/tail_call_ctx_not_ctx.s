# name: tail_call_ctx_not_ctx
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# description: passes a stack pointer instead of the context
# verdict: reject
# kernel-message: R1 type=fp expected=ctx
        mov %r1, %r10

        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call

        mov %r0, 2
        exit
