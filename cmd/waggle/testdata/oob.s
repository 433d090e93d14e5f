ldxdw %r0, [%r1+8]
exit
