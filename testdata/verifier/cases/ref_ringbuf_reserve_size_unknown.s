# name: ref_ringbuf_reserve_size_unknown
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: reserves a record of an unknown size
# verdict: reject
# kernel-message: R2 is not a known constant'
        call 7                      # bpf_get_prandom_u32
        mov %r2, %r0
        and %r2, 63
        lddw %r1, map_fd 0
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve
        jeq %r0, 0, out
        mov %r1, %r0
        mov %r2, 0
        call 133                    # bpf_ringbuf_discard

out:
        mov %r0, 0
        exit
