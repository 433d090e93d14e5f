# name: spill_stack_pointer
# category: spill
# type: xdp
# description: spills a stack pointer, fills it and writes through it
# verdict: accept
        mov %r1, %r10
        add %r1, -16
        stxdw [%r10-8], %r1
        ldxdw %r2, [%r10-8]
        stdw [%r2+0], 4
        ldxdw %r0, [%r10-16]
        exit
