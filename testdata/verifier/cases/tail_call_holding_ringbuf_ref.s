# name: tail_call_holding_ringbuf_ref
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# map: ringbuf entries=4096
# description: tail-calls while holding a ring buffer reservation
# verdict: reject
# kernel-message: tail_call would lead to reference leak
        mov %r6, %r1
        lddw %r1, map_fd 1
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve
        jeq %r0, 0, out
        mov %r7, %r0
        mov %r1, %r6
        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call
        mov %r1, %r7
        mov %r2, 0
        call 133                    # bpf_ringbuf_discard
out:
        mov %r0, 2
        exit
