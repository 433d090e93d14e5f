# name: stack_pointer_const_arith
# category: stack
# type: xdp
# description: writes through r10 - 16 computed in another register
# verdict: accept
        mov %r1, %r10
        add %r1, -16
        stdw [%r1+8], 3
        ldxdw %r0, [%r10-8]
        exit
