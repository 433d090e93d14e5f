# name: ref_ringbuf_spilled_across_call
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: spills the reservation to the stack across a helper call, then submits
# description: the fill
# verdict: accept
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        stxdw [%r10-8], %r0
        call 5                      # bpf_ktime_get_ns
        ldxdw %r1, [%r10-8]
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit

out:
        mov %r0, 0
        exit
