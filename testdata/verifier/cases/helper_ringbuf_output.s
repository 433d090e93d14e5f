# name: helper_ringbuf_output
# category: helper
# type: xdp
# map: ringbuf entries=4096
# description: calls bpf_ringbuf_output with 8 bytes of stack
# verdict: accept
        stdw [%r10-8], 0
        lddw %r1, map_fd 0
        mov %r2, %r10
        add %r2, -8
        mov %r3, 8
        mov %r4, 0
        call 130                    # bpf_ringbuf_output
        mov %r0, 0
        exit
