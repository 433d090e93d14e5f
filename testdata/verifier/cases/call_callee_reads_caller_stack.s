# name: call_callee_reads_caller_stack
# category: call
# type: xdp
# description: the subprogram reads the caller's initialized stack through a pointer
# description: argument
# verdict: accept
        stdw [%r10-16], 9
        mov %r1, %r10
        add %r1, -16
        call local f
        exit
f:
        ldxdw %r0, [%r1+0]
        exit
