# name: ref_ringbuf_submit_copy
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: submits a copy of the reservation pointer, kept in r7
# verdict: accept
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        mov %r7, %r0
        mov %r1, %r7
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit

out:
        mov %r0, 0
        exit
