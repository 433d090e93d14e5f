# name: tail_call_in_subprog
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# description: tail-calls from a bpf-to-bpf subprogram
# verdict: accept
        call local f
        mov %r0, 2
        exit
f:
        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call
        mov %r0, 0
        exit
