# name: loop_bounded_down_signed
# category: loop
# type: xdp
# description: counts down from 10 while the counter is signed-greater than 0
# verdict: accept
        mov %r0, 0
        mov %r1, 10
again:
        add %r0, 3
        sub %r1, 1
        jsgt %r1, 0, again
        exit
