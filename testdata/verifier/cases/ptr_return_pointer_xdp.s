# name: ptr_return_pointer_xdp
# category: pointer
# type: xdp
# description: an XDP program returns the context pointer
# verdict: accept
        mov %r0, %r1
        exit
