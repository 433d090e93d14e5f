# name: spill_overwritten_by_imm
# category: spill
# type: xdp
# description: spills the context pointer, overwrites the slot with an immediate store
# description: of 0 and dereferences the fill
# verdict: reject
# kernel-message: R2 invalid mem access 'scalar'
        stxdw [%r10-8], %r1
        stdw [%r10-8], 0
        ldxdw %r2, [%r10-8]
        ldxw %r0, [%r2+12]
        exit
