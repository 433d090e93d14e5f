# name: stack_misaligned_w
# category: stack
# type: xdp
# description: writes 4 bytes at r10-6 (not 4-aligned)
# verdict: reject
# kernel-message: misaligned stack access off 0+0+-6 size 4
        stw [%r10-6], 1
        mov %r0, 0
        exit
