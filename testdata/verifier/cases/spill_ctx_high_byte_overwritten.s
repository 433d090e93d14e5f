# name: spill_ctx_high_byte_overwritten
# category: spill
# type: xdp
# description: spills the context pointer, overwrites its highest byte and uses the
# description: fill as a pointer
# verdict: reject
# kernel-message: R2 invalid mem access 'scalar'
        stxdw [%r10-8], %r1
        stb [%r10-1], 0
        ldxdw %r2, [%r10-8]
        ldxw %r0, [%r2+12]
        exit
