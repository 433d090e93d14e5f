# name: ptr_sub_stack_ptrs
# category: pointer
# type: xdp
# description: subtracts two stack pointers: the result is a scalar (root)
# verdict: accept
        mov %r2, %r10
        add %r2, -8
        mov %r3, %r10
        sub %r3, %r2
        mov %r0, %r3
        exit
