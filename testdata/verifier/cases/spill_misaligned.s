# name: spill_misaligned
# category: spill
# type: xdp
# description: spills the context pointer at r10-12
# verdict: reject
# kernel-message: misaligned stack access off 0+0+-12 size 8
        stxdw [%r10-12], %r1
        mov %r0, 0
        exit
