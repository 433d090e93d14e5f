# name: ref_ringbuf_submit_offset
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: submits the reservation pointer plus 4
# verdict: reject
# kernel-message: R1 must have zero offset when passed to release func or trusted arg to kfunc
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        mov %r1, %r0
        add %r1, 4
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit

out:
        mov %r0, 0
        exit
