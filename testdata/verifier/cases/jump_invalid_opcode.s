# name: jump_invalid_opcode
# category: jump
# type: xdp
# description: has an instruction with the undefined opcode 0xff
# verdict: reject
# kernel-message: unknown opcode ff
        mov %r0, 0
        .invalid 0x00000000000000ff
        exit
