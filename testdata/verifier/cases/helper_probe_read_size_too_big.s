# name: helper_probe_read_size_too_big
# category: helper
# type: kprobe
# description: calls bpf_probe_read with a size up to 31 into 16 bytes of stack
# verdict: reject
# kernel-message: invalid write to stack R1 off=-16 size=31
        call 7                      # bpf_get_prandom_u32
        mov %r2, %r0
        and %r2, 31
        mov %r1, %r10
        add %r1, -16
        mov %r3, 0
        call 4                      # bpf_probe_read
        mov %r0, 0
        exit
