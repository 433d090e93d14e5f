# name: call_return_stack_pointer
# category: call
# type: xdp
# description: the subprogram returns a pointer to its own stack
# verdict: reject
# kernel-message: cannot return stack pointer to the caller
        call local f
        ldxdw %r0, [%r0+0]
        exit
f:
        stdw [%r10-8], 1
        mov %r0, %r10
        add %r0, -8
        exit
