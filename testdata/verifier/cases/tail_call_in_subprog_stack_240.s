# name: tail_call_in_subprog_stack_240
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# description: tail-calls from a subprogram while the frames above it use 240 bytes of
# description: stack
# verdict: accept
        stdw [%r10-240], 0
        call local f
        mov %r0, 2
        exit
f:
        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call
        mov %r0, 0
        exit
