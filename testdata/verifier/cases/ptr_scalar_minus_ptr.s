# name: ptr_scalar_minus_ptr
# category: pointer
# type: xdp
# description: subtracts a pointer from a scalar
# verdict: reject
# kernel-message: R2 tried to subtract pointer from scalar
        mov %r2, 100
        sub %r2, %r1
        mov %r0, 0
        exit
