# name: jump_over_lddw
# category: jump
# type: xdp
# description: jumps over an lddw (two slots)
# verdict: accept
        mov %r0, 0
        jeq %r1, 0, +2
        lddw %r0, 0x100000000
        exit
