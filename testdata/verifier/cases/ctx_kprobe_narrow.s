# name: ctx_kprobe_narrow
# category: context
# type: kprobe
# description: reads 4 bytes of a pt_regs word in a kprobe
# verdict: accept
        ldxw %r2, [%r1+112]

        mov %r0, 0
        exit
