# name: call_stack_rounding_over
# category: call
# type: xdp
# description: the main program uses 504 bytes and the subprogram 8 (512 together), but
# description: with the JIT each frame is rounded up to 16 bytes: 512 + 16
# verdict: reject
# kernel-message: combined stack size of 2 calls is 528. Too large
        stdw [%r10-504], 0
        call local f
        exit
f:
        stdw [%r10-8], 0
        mov %r0, 0
        exit
