# name: ptr_mov32
# category: pointer
# type: xdp
# description: copies the low half of a pointer with mov32
# verdict: accept
        mov32 %r2, %r10
        mov %r0, %r2
        exit
