# name: packet_ldabs_socket
# category: packet
# type: socket
# description: uses legacy packet loads (LD_ABS, LD_IND) in a socket filter with the
# description: context in r6
# verdict: accept
        mov %r6, %r1
        ldabsh 12
        mov %r7, 2
        ldindb %r7, 12
        exit
