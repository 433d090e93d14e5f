# name: packet_meta_checked_against_end
# category: packet
# type: xdp
# description: checks data_meta against data_end instead of data and reads metadata
# verdict: reject
# kernel-message: invalid access to packet, off=0 size=4, R2(id=0,off=0,r=0)
        ldxw %r2, [%r1+8]           # data_meta
        ldxw %r3, [%r1+4]           # data_end
        mov %r4, %r2
        add %r4, 4
        jgt %r4, %r3, out
        ldxw %r0, [%r2+0]

out:
        mov %r0, 2
        exit
