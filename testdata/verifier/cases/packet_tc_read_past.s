# name: packet_tc_read_past
# category: packet
# type: tc
# description: reads past the checked range in a TC program
# verdict: reject
# kernel-message: invalid access to packet, off=12 size=4, R2(id=0,off=12,r=14)
        ldxw %r2, [%r1+76]          # data
        ldxw %r3, [%r1+80]          # data_end

        mov %r4, %r2
        add %r4, 14
        jgt %r4, %r3, out
        ldxw %r0, [%r2+12]
out:
        mov %r0, 0
        exit
