# name: ref_ringbuf_unchecked_submit
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: submits the reservation without checking it for NULL
# verdict: reject
# kernel-message: R1 type=ringbuf_mem_or_null expected=ringbuf_mem
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        mov %r1, %r0
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit

out:
        mov %r0, 0
        exit
