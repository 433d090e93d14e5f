# name: ptr_stack_via_add_reg
# category: pointer
# type: xdp
# description: adds a known constant held in a register to a stack pointer, then writes
# description: through it
# verdict: accept
        mov %r2, -8
        mov %r1, %r10
        add %r1, %r2
        stdw [%r1+0], 1
        ldxdw %r0, [%r10-8]
        exit
