# name: ref_ringbuf_discard
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: reserves a record and discards it
# verdict: accept
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        mov %r1, %r0
        mov %r2, 0
        call 133                    # bpf_ringbuf_discard

out:
        mov %r0, 0
        exit
