# name: spill_pkt_keeps_range
# category: spill
# type: xdp
# description: spills a checked packet pointer and reads through its fill
# verdict: accept
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        mov %r4, %r2
        add %r4, 8
        jgt %r4, %r3, out
        stxdw [%r10-8], %r2
        ldxdw %r5, [%r10-8]
        ldxdw %r0, [%r5+0]
out:
        mov %r0, 2
        exit
