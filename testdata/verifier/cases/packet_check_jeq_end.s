# name: packet_check_jeq_end
# category: packet
# type: xdp
# description: reads where data + 14 == data_end
# verdict: reject
# kernel-message: invalid access to packet, off=13 size=1, R2(id=0,off=13,r=0)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 14
        jne %r4, %r3, out
        ldxb %r0, [%r2+13]

out:
        mov %r0, 2
        exit
