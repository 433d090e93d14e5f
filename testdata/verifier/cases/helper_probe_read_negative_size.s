# name: helper_probe_read_negative_size
# category: helper
# type: kprobe
# description: calls bpf_probe_read with a size in [-1, 15]
# verdict: reject
# kernel-message: R2 min value is negative, either use unsigned or 'var &= const'
        call 7                      # bpf_get_prandom_u32
        mov %r2, %r0
        and %r2, 15
        sub %r2, 1
        mov %r1, %r10
        add %r1, -16
        mov %r3, 0
        call 4                      # bpf_probe_read
        mov %r0, 0
        exit
