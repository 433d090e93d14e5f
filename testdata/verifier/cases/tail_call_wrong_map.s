# name: tail_call_wrong_map
# category: tail_call
# type: xdp
# map: array key=4 value=4 entries=4
# description: tail-calls through an array map
# verdict: reject
# kernel-message: expected prog array map for tail call
        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call

        mov %r0, 2
        exit
