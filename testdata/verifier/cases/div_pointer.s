# name: div_pointer
# category: division
# type: xdp
# description: divides a pointer
# verdict: reject
# kernel-message: R0 pointer arithmetic with /= operator prohibited
        mov %r0, %r1
        div %r0, 2
        mov %r0, 0
        exit
