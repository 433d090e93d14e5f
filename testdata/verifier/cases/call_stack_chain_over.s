# name: call_stack_chain_over
# category: call
# type: xdp
# description: three frames of 192 bytes each: 576 together
# verdict: reject
# kernel-message: combined stack size of 3 calls is 576. Too large
        stdw [%r10-192], 0
        call local f
        exit
f:
        stdw [%r10-192], 0
        call local g
        exit
g:
        stdw [%r10-192], 0
        mov %r0, 0
        exit
