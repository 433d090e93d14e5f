# name: packet_negative_offset
# category: packet
# type: xdp
# description: reads the byte before data
# verdict: reject
# kernel-message: invalid access to packet, off=-1 size=1, R2(id=0,off=-1,r=14)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 14
        jgt %r4, %r3, out
        ldxb %r0, [%r2-1]

out:
        mov %r0, 2
        exit
