# name: atomic_add_stack
# category: atomic
# type: xdp
# description: atomically adds to an initialized stack slot
# verdict: accept
        stdw [%r10-8], 0
        mov %r1, 1
        lock add [%r10-8], %r1
        ldxdw %r0, [%r10-8]
        exit
