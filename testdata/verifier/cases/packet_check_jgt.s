# name: packet_check_jgt
# category: packet
# type: xdp
# description: checks data + 14 > data_end before reading byte 13
# verdict: accept
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 14
        jgt %r4, %r3, out
        ldxb %r0, [%r2+13]

out:
        mov %r0, 2
        exit
