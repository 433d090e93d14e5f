# name: packet_check_jge_end
# category: packet
# type: xdp
# description: reads on the taken branch of data_end >= data + 14
# verdict: accept
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 14
        jge %r3, %r4, ok
        ja out
ok:
        ldxh %r0, [%r2+12]

out:
        mov %r0, 2
        exit
