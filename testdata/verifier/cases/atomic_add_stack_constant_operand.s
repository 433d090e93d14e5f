# name: atomic_add_stack_constant_operand
# category: atomic
# type: xdp
# description: atomically adds 8 to a slot holding 0x1000, then uses the slot as an
# description: offset from the stack: the slot holds an unknown number after the
# description: atomic operation, not its operand (waggle took it for 8, so the load
# description: at fp-32+0x1008 was accepted)
# verdict: reject
# kernel-message: math between fp pointer and register with unbounded min value is not allowed
        stdw [%r10-8], 0x1000
        stdw [%r10-16], 0
        stdw [%r10-24], 0
        stdw [%r10-32], 0
        mov %r1, 8
        lock add [%r10-8], %r1
        ldxdw %r2, [%r10-8]
        mov %r3, %r10
        add %r3, -32
        add %r3, %r2
        ldxdw %r0, [%r3+0]
        exit
