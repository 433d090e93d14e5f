# name: atomic_add_stack_pointer_operand
# category: atomic
# type: xdp
# description: atomically adds the context pointer to a stack slot never written, then
# description: reads the slot back and dereferences it: the slot holds data (whatever
# description: was there plus the pointer), not a pointer (found by FuzzSoundness: waggle
# description: took the slot for a spill of the operand)
# verdict: reject
# kernel-message: R2 invalid mem access 'scalar'
        lock add [%r10-8], %r1
        ldacqdw %r2, [%r10-8]
        ldxw %r0, [%r2+0]
        exit
