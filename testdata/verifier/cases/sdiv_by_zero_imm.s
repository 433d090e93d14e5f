# name: sdiv_by_zero_imm
# category: division
# type: xdp
# description: signed division by the immediate 0
# verdict: reject
# kernel-message: div by zero
        mov %r0, 7
        sdiv %r0, 0
        exit
