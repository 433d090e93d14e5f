# name: call_stack_rounding_fits
# category: call
# type: xdp
# description: the main program uses 488 bytes and the subprogram 8; rounded up to 16
# description: bytes each: 496 + 16 = 512
# verdict: accept
        stdw [%r10-488], 0
        call local f
        exit
f:
        stdw [%r10-8], 0
        mov %r0, 0
        exit
