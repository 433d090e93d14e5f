# name: div_by_zero_imm
# category: division
# type: xdp
# description: divides by the immediate 0
# verdict: reject
# kernel-message: div by zero
        mov %r0, 7
        div %r0, 0
        exit
