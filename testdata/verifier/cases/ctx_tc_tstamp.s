# name: ctx_tc_tstamp
# category: context
# type: tc
# description: reads and writes __sk_buff.tstamp (8 bytes)
# verdict: accept
        ldxdw %r2, [%r1+152]
        stxdw [%r1+152], %r2

        mov %r0, 0
        exit
