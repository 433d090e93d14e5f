# name: packet_huge_const_offset
# category: packet
# type: xdp
# description: adds 0x10000 to a packet pointer
# verdict: reject
# kernel-message: invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 0x10000
        jgt %r4, %r3, out
        ldxb %r0, [%r2+0]

out:
        mov %r0, 2
        exit
