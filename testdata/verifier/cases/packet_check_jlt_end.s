# name: packet_check_jlt_end
# category: packet
# type: xdp
# description: checks with data_end on the left: if data_end < data + 14 goto out
# verdict: accept
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 14
        jlt %r3, %r4, out
        ldxw %r0, [%r2+10]

out:
        mov %r0, 2
        exit
