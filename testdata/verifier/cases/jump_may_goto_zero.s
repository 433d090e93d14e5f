# name: jump_may_goto_zero
# category: jump
# type: xdp
# description: may_goto +0 goes to the next instruction either way
# verdict: accept
        may_goto +0
        mov %r0, 0
        exit
