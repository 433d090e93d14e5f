# name: stack_write_straddles_top
# category: stack
# type: xdp
# description: writes 8 bytes at r10-4, crossing the top of the frame (the misalignment
# description: is what is reported)
# verdict: reject
# kernel-message: misaligned stack access off 0+0+-4 size 8
        stw [%r10-4], 0
        mov %r1, 0
        stxdw [%r10-4], %r1
        mov %r0, 0
        exit
