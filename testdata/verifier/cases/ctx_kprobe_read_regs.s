# name: ctx_kprobe_read_regs
# category: context
# type: kprobe
# description: reads pt_regs words at offsets 0, 112 and 160 in a kprobe
# verdict: accept
        ldxdw %r2, [%r1+0]
        ldxdw %r2, [%r1+112]
        ldxdw %r2, [%r1+160]

        mov %r0, 0
        exit
