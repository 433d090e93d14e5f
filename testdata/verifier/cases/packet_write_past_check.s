# name: packet_write_past_check
# category: packet
# type: xdp
# description: writes two bytes where one was checked
# verdict: reject
# kernel-message: invalid access to packet, off=0 size=2, R2(id=0,off=0,r=1)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 1
        jgt %r4, %r3, out
        sth [%r2+0], 0xff

out:
        mov %r0, 2
        exit
