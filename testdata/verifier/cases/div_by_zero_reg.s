# name: div_by_zero_reg
# category: division
# type: xdp
# description: divides by a register known to be zero
# verdict: accept
        mov %r1, 0
        mov %r0, 7
        div %r0, %r1
        exit
