# name: ref_ringbuf_submit_stack
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: passes a stack pointer to bpf_ringbuf_submit
# verdict: reject
# kernel-message: R1 type=fp expected=ringbuf_mem
        stdw [%r10-8], 0
        mov %r1, %r10
        add %r1, -8
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit
        mov %r0, 0
        exit
