# name: mod_by_zero_imm
# category: division
# type: xdp
# description: takes the remainder by the immediate 0
# verdict: reject
# kernel-message: div by zero
        mov %r0, 7
        mod %r0, 0
        exit
