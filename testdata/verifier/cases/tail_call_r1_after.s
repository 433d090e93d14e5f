# name: tail_call_r1_after
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# description: reads r1 after a tail call that fell through
# verdict: reject
# kernel-message: R1 !read_ok
        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call

        mov %r0, %r1
        exit
