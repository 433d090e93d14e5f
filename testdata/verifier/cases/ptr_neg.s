# name: ptr_neg
# category: pointer
# type: xdp
# description: negates a pointer
# verdict: accept
        mov %r2, %r10
        neg %r2

        mov %r0, 0
        exit
