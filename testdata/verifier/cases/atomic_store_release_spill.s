# name: atomic_store_release_spill
# category: atomic
# type: xdp
# description: a store-release of the context pointer to the stack spills it, and
# description: a load-acquire fills it back: a context load through the copy
# verdict: accept
        streldw [%r10-8], %r1
        mov %r1, 0
        ldacqdw %r2, [%r10-8]
        ldxw %r0, [%r2+0]
        mov %r0, 0
        exit
