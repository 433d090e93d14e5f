# name: jump_register_r11
# category: jump
# type: xdp
# description: an instruction naming register 11
# verdict: reject
# kernel-message: R11 is invalid
        mov %r0, 0
        .invalid 0x0000000000000bbf # mov %r11, %r0
        exit
