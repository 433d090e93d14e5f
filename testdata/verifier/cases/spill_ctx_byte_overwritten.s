# name: spill_ctx_byte_overwritten
# category: spill
# type: xdp
# description: spills the context pointer, overwrites its lowest byte and uses the fill
# description: as a pointer
# verdict: reject
# kernel-message: R2 invalid mem access 'scalar'
        stxdw [%r10-8], %r1
        stb [%r10-8], 0
        ldxdw %r2, [%r10-8]
        ldxw %r0, [%r2+12]
        exit
