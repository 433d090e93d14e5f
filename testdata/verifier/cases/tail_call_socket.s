# name: tail_call_socket
# category: tail_call
# type: socket
# map: prog_array key=4 value=4 entries=4
# description: tail-calls from a socket filter
# verdict: accept
        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call

        mov %r0, 0
        exit
