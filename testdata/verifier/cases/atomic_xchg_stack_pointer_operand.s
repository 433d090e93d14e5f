# name: atomic_xchg_stack_pointer_operand
# category: atomic
# type: xdp
# description: exchanges the context pointer into a stack slot, then reads the slot back
# description: and dereferences it: after an atomic operation the slot holds data,
# description: even where it holds the operand
# verdict: reject
# kernel-message: R2 invalid mem access 'scalar'
        stdw [%r10-8], 0
        mov %r2, %r1
        lock xchg [%r10-8], %r2
        ldxdw %r2, [%r10-8]
        ldxw %r0, [%r2+0]
        exit
