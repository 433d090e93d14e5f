# name: loop_may_goto
# category: loop
# type: xdp
# description: an unbounded loop that leaves through may_goto (the kernel bounds its
# description: iterations at run time)
# verdict: accept
        ldxw %r2, [%r1+12]
        mov %r0, 0
again:
        .raw 0x00000000000200e5     # may_goto +2
        add %r0, 1
        jne %r0, %r2, again
        exit
