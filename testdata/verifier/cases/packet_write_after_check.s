# name: packet_write_after_check
# category: packet
# type: xdp
# description: writes a checked packet byte in XDP
# verdict: accept
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 1
        jgt %r4, %r3, out
        stb [%r2+0], 0xff

out:
        mov %r0, 2
        exit
