# name: loop_bounded_up
# category: loop
# type: xdp
# description: counts from 0 to 10 with a backward jump
# verdict: accept
        mov %r0, 0
        mov %r1, 0
again:
        add %r0, %r1
        add %r1, 1
        jlt %r1, 10, again
        exit
