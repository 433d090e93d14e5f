# name: ref_ringbuf_submit
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: reserves a ring buffer record, checks it, writes and submits it
# verdict: accept
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        stdw [%r0+0], 1
        mov %r1, %r0
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit

out:
        mov %r0, 0
        exit
