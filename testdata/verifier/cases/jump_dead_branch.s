# name: jump_dead_branch
# category: jump
# type: xdp
# description: a branch that is never taken (r0 is 0) leads to code the verifier does
# description: not walk
# verdict: accept
        mov %r0, 0
        jeq %r0, 1, dead
        exit
dead:
        ldxdw %r0, [%r0+0]
        exit
