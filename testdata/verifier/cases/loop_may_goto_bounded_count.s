# name: loop_may_goto_bounded_count
# category: loop
# type: xdp
# description: for (i = 0; i < 1000 && can_loop; i++) sum += i; the sum is
# description: imprecise and widened, the count unrolled
# verdict: accept
        mov %r0, 0
        mov %r1, 0
again:
        jge %r1, 1000, out
        may_goto out
        add %r0, %r1
        add %r1, 1
        ja again
out:
        exit
