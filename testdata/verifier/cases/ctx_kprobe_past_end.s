# name: ctx_kprobe_past_end
# category: context
# type: kprobe
# description: reads 8 bytes at offset 168, past pt_regs (x86-64)
# verdict: reject
# kernel-message: invalid bpf_context access off=168 size=8
        ldxdw %r2, [%r1+168]

        mov %r0, 0
        exit
