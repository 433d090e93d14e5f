# name: spill_ptr_store_32bit
# category: spill
# type: xdp
# description: stores the low 4 bytes of a pointer (stxw) to the stack and reads them
# description: back
# verdict: reject
# kernel-message: invalid size of register spill
        stxw [%r10-8], %r1
        ldxw %r0, [%r10-8]
        exit
