# name: ptr_return_pointer_socket
# category: pointer
# type: socket
# description: a socket filter returns a stack pointer
# verdict: accept
        mov %r0, %r10
        exit
