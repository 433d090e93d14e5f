# name: ref_ringbuf_double_submit
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: submits the same record twice
# verdict: reject
# kernel-message: R1 type=scalar expected=ringbuf_mem
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        mov %r6, %r0
        mov %r1, %r6
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit
        mov %r1, %r6
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit

out:
        mov %r0, 0
        exit
