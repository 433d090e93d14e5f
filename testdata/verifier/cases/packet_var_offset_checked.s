# name: packet_var_offset_checked
# category: packet
# type: xdp
# description: adds a byte of the packet masked with 0x3f to data and checks 4 bytes
# description: from there
# verdict: accept
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 1
        jgt %r4, %r3, out
        ldxb %r5, [%r2+0]
        and %r5, 0x3f
        mov %r4, %r2
        add %r4, %r5
        mov %r6, %r4
        add %r6, 4
        jgt %r6, %r3, out
        ldxw %r0, [%r4+0]

out:
        mov %r0, 2
        exit
