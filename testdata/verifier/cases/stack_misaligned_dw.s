# name: stack_misaligned_dw
# category: stack
# type: xdp
# description: writes 8 bytes at r10-12 (not 8-aligned)
# verdict: reject
# kernel-message: misaligned stack access off 0+0+-12 size 8
        stdw [%r10-12], 1
        mov %r0, 0
        exit
