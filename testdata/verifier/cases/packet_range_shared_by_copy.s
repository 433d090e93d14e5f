# name: packet_range_shared_by_copy
# category: packet
# type: xdp
# description: a check made through a copy (data + 20) gives the range to data
# verdict: accept
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 20
        jgt %r4, %r3, out
        ldxb %r0, [%r2+19]
        ldxb %r0, [%r4-1]

out:
        mov %r0, 2
        exit
