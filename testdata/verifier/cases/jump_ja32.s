# name: jump_ja32
# category: jump
# type: xdp
# description: jumps with the 32-bit-offset ja (gotol)
# verdict: accept
        mov %r0, 0
        jeq %r1, 0, set
        ja32 +1
set:
        mov %r0, 1
        exit
