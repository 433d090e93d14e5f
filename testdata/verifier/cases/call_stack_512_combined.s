# name: call_stack_512_combined
# category: call
# type: xdp
# description: the main program uses 256 bytes of stack and the subprogram 256: 512
# description: together
# verdict: accept
        stdw [%r10-256], 0
        call local f
        exit
f:
        stdw [%r10-256], 0
        mov %r0, 0
        exit
