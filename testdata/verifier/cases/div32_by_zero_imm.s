# name: div32_by_zero_imm
# category: division
# type: xdp
# description: divides a 32-bit subregister by the immediate 0
# verdict: reject
# kernel-message: div by zero
        mov %r0, 7
        div32 %r0, 0
        exit
