# name: ctx_same_insn_stack_or_ctx_store
# category: context
# type: tc
# description: one store writes __sk_buff.mark through the context on one path and the stack on the other
# verdict: reject
# kernel-message: same insn cannot be used with different pointers
        stdw [%r10-8], 0
        ldxw %r2, [%r1+0]           # len
        mov %r3, %r10
        add %r3, -16
        jne %r2, 0, use
        mov %r3, %r1
use:
        mov %r4, 7
        stxw [%r3+8], %r4
        mov %r0, 0
        exit
