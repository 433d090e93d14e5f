# name: atomic_spilled_pointer
# category: atomic
# type: xdp
# description: atomically adds to a stack slot holding a spilled pointer
# verdict: accept
        stxdw [%r10-8], %r1
        mov %r2, 1
        lock add [%r10-8], %r2
        mov %r0, 0
        exit
