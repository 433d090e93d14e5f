# name: ptr_sub_different_types
# category: pointer
# type: xdp
# description: subtracts the context pointer from a stack pointer
# verdict: accept
        mov %r2, %r10
        sub %r2, %r1
        mov %r0, 0
        exit
