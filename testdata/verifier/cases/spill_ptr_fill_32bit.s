# name: spill_ptr_fill_32bit
# category: spill
# type: xdp
# description: fills 4 bytes of a spilled pointer
# verdict: reject
# kernel-message: invalid size of register fill
        stxdw [%r10-8], %r1
        ldxw %r0, [%r10-8]
        exit
