# name: spill_ptr_fill_32bit_high
# category: spill
# type: xdp
# description: fills the upper 4 bytes of a spilled pointer
# verdict: reject
# kernel-message: invalid size of register fill
        stxdw [%r10-8], %r1
        ldxw %r0, [%r10-4]
        exit
