# name: loop_unknown_bound
# category: loop
# type: xdp
# description: loops up to an unknown 32-bit count read from the context
# verdict: reject
# kernel-message: BPF program is too large. Processed 1000001 insn
        ldxw %r2, [%r1+12]          # ingress_ifindex
        mov %r0, 0
        mov %r1, 0
again:
        add %r1, 1
        jlt %r1, %r2, again
        exit
