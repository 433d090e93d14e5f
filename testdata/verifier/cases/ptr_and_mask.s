# name: ptr_and_mask
# category: pointer
# type: xdp
# description: masks a stack pointer with and
# verdict: reject
# kernel-message: R2 bitwise operator &= on pointer prohibited
        mov %r2, %r10
        and %r2, -8

        mov %r0, 0
        exit
