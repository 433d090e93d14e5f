# name: packet_end_arith
# category: packet
# type: xdp
# description: subtracts from data_end to compute the check
# verdict: reject
# kernel-message: R4 pointer arithmetic on pkt_end prohibited
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r3
        sub %r4, 14
        jlt %r4, %r2, out
        ldxb %r0, [%r2+0]

out:
        mov %r0, 2
        exit
