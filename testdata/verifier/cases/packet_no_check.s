# name: packet_no_check
# category: packet
# type: xdp
# description: reads the packet without comparing with data_end
# verdict: reject
# kernel-message: invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        ldxb %r0, [%r2+0]
        mov %r0, 2
        exit
