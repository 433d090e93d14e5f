# name: ref_ringbuf_use_after_submit
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: writes the record after submitting it
# verdict: reject
# kernel-message: R6 invalid mem access 'scalar'
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        mov %r6, %r0
        mov %r1, %r6
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit
        stdw [%r6+0], 1

out:
        mov %r0, 0
        exit
