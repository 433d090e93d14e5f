# name: helper_ringbuf_output_on_array
# category: helper
# type: xdp
# map: array key=4 value=8 entries=1
# description: calls bpf_ringbuf_output on an array map
# verdict: reject
# kernel-message: cannot pass map_type 2 into func bpf_ringbuf_output#130
        stdw [%r10-8], 0
        lddw %r1, map_fd 0
        mov %r2, %r10
        add %r2, -8
        mov %r3, 8
        mov %r4, 0
        call 130                    # bpf_ringbuf_output
        mov %r0, 0
        exit
