# name: call_stack_520_combined
# category: call
# type: xdp
# description: the main program uses 256 bytes and the subprogram 264: 520 together
# description: (528 after rounding each frame up to 16 bytes)
# verdict: reject
# kernel-message: combined stack size of 2 calls is 528. Too large
        stdw [%r10-256], 0
        call local f
        exit
f:
        stdw [%r10-264], 0
        mov %r0, 0
        exit
