# name: mod_by_zero_reg
# category: division
# type: xdp
# description: takes the remainder by a register known to be zero
# verdict: accept
        mov %r1, 0
        mov %r0, 7
        mod %r0, %r1
        exit
