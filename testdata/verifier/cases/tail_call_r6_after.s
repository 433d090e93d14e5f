# name: tail_call_r6_after
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# description: reads r6 after a tail call that fell through: callee-saved
# verdict: accept
        mov %r6, 2

        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call

        mov %r0, %r6
        exit
