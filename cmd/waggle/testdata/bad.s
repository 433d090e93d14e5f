mov %r0, 1
bogus %r1
exit
