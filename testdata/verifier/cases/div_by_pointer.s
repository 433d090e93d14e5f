# name: div_by_pointer
# category: division
# type: xdp
# description: divides a scalar by a pointer
# verdict: reject
# kernel-message: R0 pointer arithmetic with /= operator prohibited
        mov %r0, 100
        div %r0, %r1
        mov %r0, 0
        exit
