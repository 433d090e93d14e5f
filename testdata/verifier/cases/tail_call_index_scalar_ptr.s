# name: tail_call_index_scalar_ptr
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# description: passes a stack pointer as the index
# verdict: accept
        lddw %r2, map_fd 0
        mov %r3, %r10
        call 12                     # bpf_tail_call
        mov %r0, 2
        exit
