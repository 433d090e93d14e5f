# name: ctx_same_insn_ctx_or_packet
# category: context
# type: xdp
# description: one load reads through the packet on one path and the context on the other
# verdict: reject
# kernel-message: same insn cannot be used with different pointers
        ldxw %r2, [%r1+0]           # data
        ldxw %r4, [%r1+4]           # data_end
        mov %r3, %r2
        add %r3, 32
        jgt %r3, %r4, ctx
        mov %r3, %r2
        ja use
ctx:
        mov %r3, %r1
use:
        ldxw %r0, [%r3+12]
        mov %r0, 2
        exit
