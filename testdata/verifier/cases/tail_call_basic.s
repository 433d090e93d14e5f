# name: tail_call_basic
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# description: tail-calls index 0 of a program array and returns 2 if the call falls
# description: through
# verdict: accept
        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call

        mov %r0, 2
        exit
