# name: spill_ctx
# category: spill
# type: xdp
# description: spills the context pointer, fills it into another register and reads a
# description: context field
# verdict: accept
        stxdw [%r10-8], %r1
        mov %r1, 0
        ldxdw %r2, [%r10-8]
        ldxw %r0, [%r2+12]          # ingress_ifindex
        exit
