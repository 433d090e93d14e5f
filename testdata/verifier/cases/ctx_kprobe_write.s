# name: ctx_kprobe_write
# category: context
# type: kprobe
# description: writes a pt_regs word in a kprobe
# verdict: reject
# kernel-message: invalid bpf_context access off=0 size=8
        mov %r2, 0
        stxdw [%r1+0], %r2

        mov %r0, 0
        exit
