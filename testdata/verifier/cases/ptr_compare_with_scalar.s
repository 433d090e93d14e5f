# name: ptr_compare_with_scalar
# category: pointer
# type: xdp
# description: compares a stack pointer with a constant
# verdict: accept
        mov %r0, 0
        mov %r2, %r10
        jgt %r2, 1000, big
        mov %r0, 1
big:
        exit
