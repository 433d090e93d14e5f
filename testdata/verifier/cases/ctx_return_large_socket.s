# name: ctx_return_large_socket
# category: context
# type: socket
# description: a socket program returns 1000, outside the range of the type's defined
# description: return codes
# verdict: accept
        mov %r0, 1000
        exit
