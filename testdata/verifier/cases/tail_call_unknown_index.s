# name: tail_call_unknown_index
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# description: tail-calls an index read from the context
# verdict: accept
        ldxw %r3, [%r1+16]          # rx_queue_index
        lddw %r2, map_fd 0
        call 12                     # bpf_tail_call
        mov %r0, 2
        exit
