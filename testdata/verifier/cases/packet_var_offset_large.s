# name: packet_var_offset_large
# category: packet
# type: xdp
# description: adds a value up to 0xffff to a packet pointer and checks it
# verdict: reject
# kernel-message: invalid access to packet, off=0 size=1, R2(id=1,off=0,r=0)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 2
        jgt %r4, %r3, out
        ldxh %r5, [%r2+0]
        add %r2, %r5
        mov %r4, %r2
        add %r4, 1
        jgt %r4, %r3, out
        ldxb %r0, [%r2+0]

out:
        mov %r0, 2
        exit
