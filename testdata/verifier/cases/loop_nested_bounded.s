# name: loop_nested_bounded
# category: loop
# type: xdp
# description: two nested bounded loops of 8 iterations each
# verdict: accept
        mov %r0, 0
        mov %r1, 0
outer:
        mov %r2, 0
inner:
        add %r0, 1
        add %r2, 1
        jlt %r2, 8, inner
        add %r1, 1
        jlt %r1, 8, outer
        exit
