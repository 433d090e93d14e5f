# name: packet_read_past_check
# category: packet
# type: xdp
# description: checks 14 bytes and reads byte 14
# verdict: reject
# kernel-message: invalid access to packet, off=14 size=1, R2(id=0,off=14,r=14)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 14
        jgt %r4, %r3, out
        ldxb %r0, [%r2+14]

out:
        mov %r0, 2
        exit
