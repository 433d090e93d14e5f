# name: ptr_compare_different_types
# category: pointer
# type: xdp
# description: compares the context pointer with the frame pointer
# verdict: accept
        mov %r0, 0
        jeq %r1, %r10, same
        mov %r0, 1
same:
        exit
