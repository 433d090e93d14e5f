# name: ctx_same_insn_ctx_or_stack_st_imm
# category: context
# type: tc
# description: one store of an immediate goes to __sk_buff.mark on one path and to the stack on the other
# verdict: reject
# kernel-message: same insn cannot be used with different pointers
        ldxw %r2, [%r1+0]           # len
        mov %r3, %r1
        jeq %r2, 0, use
        mov %r3, %r10
        add %r3, -16
use:
        stw [%r3+8], 7
        mov %r0, 0
        exit
