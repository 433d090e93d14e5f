# name: packet_check_inverted
# category: packet
# type: xdp
# description: reads on the wrong branch: falls through when data + 14 >= data_end
# verdict: reject
# kernel-message: invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 14
        jlt %r4, %r3, out
        ldxb %r0, [%r2+0]

out:
        mov %r0, 2
        exit
