# name: ctx_same_insn_ctx_or_stack_load
# category: context
# type: xdp
# description: one load reads through the context on one path and through the stack on the other
# verdict: reject
# kernel-message: same insn cannot be used with different pointers
        stdw [%r10-8], 0
        stdw [%r10-16], 0
        ldxw %r2, [%r1+12]          # ingress_ifindex
        mov %r3, %r1
        jeq %r2, 0, use
        mov %r3, %r10
        add %r3, -16
use:
        ldxw %r0, [%r3+12]
        mov %r0, 0
        exit
