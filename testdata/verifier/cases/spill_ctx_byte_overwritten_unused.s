# name: spill_ctx_byte_overwritten_unused
# category: spill
# type: xdp
# description: spills the context pointer and overwrites a byte of it, never using the
# description: slot again
# verdict: accept
        stxdw [%r10-8], %r1
        stb [%r10-8], 0
        mov %r0, 0
        exit
