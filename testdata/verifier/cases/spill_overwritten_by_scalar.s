# name: spill_overwritten_by_scalar
# category: spill
# type: xdp
# description: spills the context pointer, overwrites the slot with a scalar and
# description: dereferences the fill
# verdict: reject
# kernel-message: R2 invalid mem access 'scalar'
        stxdw [%r10-8], %r1
        mov %r3, 0
        stxdw [%r10-8], %r3
        ldxdw %r2, [%r10-8]
        ldxw %r0, [%r2+12]
        exit
