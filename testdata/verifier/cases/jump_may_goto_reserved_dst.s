# name: jump_may_goto_reserved_dst
# category: jump
# type: xdp
# description: may_goto with a destination register set (reserved)
# verdict: reject
# kernel-message: invalid may_goto imm 0
        mov %r0, 0
        .raw 0x00000000000101e5     # may_goto +1 with dst r1
        mov %r0, 1
        exit
