# name: div32_by_zero_reg
# category: division
# type: xdp
# description: divides a 32-bit subregister by a register whose low half is zero
# verdict: accept
        lddw %r1, 0x100000000
        mov %r0, 7
        div32 %r0, %r1
        exit
