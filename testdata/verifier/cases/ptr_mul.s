# name: ptr_mul
# category: pointer
# type: xdp
# description: multiplies a pointer
# verdict: reject
# kernel-message: R2 pointer arithmetic with *= operator prohibited
        mov %r2, %r10
        mul %r2, 2

        mov %r0, 0
        exit
