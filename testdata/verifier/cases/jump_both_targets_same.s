# name: jump_both_targets_same
# category: jump
# type: xdp
# description: a conditional jump whose target is the next instruction
# verdict: accept
        mov %r0, 2
        jeq %r1, 0, +0
        exit
