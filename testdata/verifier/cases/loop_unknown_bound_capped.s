# name: loop_unknown_bound_capped
# category: loop
# type: xdp
# description: loops up to an unknown count, also stopping at 32
# verdict: accept
        ldxw %r2, [%r1+12]          # ingress_ifindex
        mov %r0, 0
        mov %r1, 0
again:
        add %r1, 1
        jge %r1, 32, done
        jlt %r1, %r2, again
done:
        exit
