# name: atomic_add_stack_uninit
# category: atomic
# type: xdp
# description: atomically adds to a stack slot that was never written
# verdict: accept
        mov %r1, 1
        lock add [%r10-8], %r1
        mov %r0, 0
        exit
