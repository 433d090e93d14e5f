# name: helper_probe_read_bounded_size
# category: helper
# type: kprobe
# description: calls bpf_probe_read with a size masked to [0, 15] into 16 bytes of
# description: stack
# verdict: accept
        mov %r6, %r1
        call 7                      # bpf_get_prandom_u32
        mov %r2, %r0
        and %r2, 15
        mov %r1, %r10
        add %r1, -16
        mov %r3, 0
        call 4                      # bpf_probe_read
        mov %r0, 0
        exit
