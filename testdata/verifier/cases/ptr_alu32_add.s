# name: ptr_alu32_add
# category: pointer
# type: xdp
# description: adds to a pointer with a 32-bit add
# verdict: reject
# kernel-message: R2 32-bit pointer arithmetic prohibited
        mov %r2, %r10
        add32 %r2, -8

        mov %r0, 0
        exit
