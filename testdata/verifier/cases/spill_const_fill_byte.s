# name: spill_const_fill_byte
# category: spill
# type: xdp
# description: spills the constant 0x1122 and fills its low byte as a known scalar
# verdict: accept
        mov %r1, 0x1122
        stxdw [%r10-8], %r1
        ldxb %r0, [%r10-8]
        jeq %r0, 0x22, ok
        ldxdw %r0, [%r0+0]          # dead if the fill is known to be 0x22
ok:
        exit
