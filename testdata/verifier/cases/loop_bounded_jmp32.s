# name: loop_bounded_jmp32
# category: loop
# type: xdp
# description: counts a 32-bit counter to 16 with a 32-bit jump
# verdict: accept
        mov32 %r0, 0
        mov32 %r1, 0
again:
        add32 %r0, %r1
        add32 %r1, 1
        jlt32 %r1, 16, again
        exit
