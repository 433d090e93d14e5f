# name: call_pass_stack_pointer
# category: call
# type: xdp
# description: the subprogram writes through a pointer to the caller's stack
# verdict: accept
        mov %r1, %r10
        add %r1, -8
        call local f
        ldxdw %r0, [%r10-8]
        exit
f:
        stdw [%r1+0], 42
        mov %r0, 0
        exit
