# name: ptr_leak_to_ringbuf
# category: pointer
# type: xdp
# map: ringbuf entries=4096
# description: writes a stack pointer into a ring buffer record
# verdict: accept
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve
        jeq %r0, 0, out
        mov %r1, %r10
        stxdw [%r0+0], %r1
        mov %r1, %r0
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit

out:
        mov %r0, 0
        exit
