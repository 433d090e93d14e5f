# name: ptr_byte_swap
# category: pointer
# type: xdp
# description: byte-swaps a pointer
# verdict: accept
        mov %r2, %r10
        be64 %r2

        mov %r0, 0
        exit
