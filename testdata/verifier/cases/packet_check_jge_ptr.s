# name: packet_check_jge_ptr
# category: packet
# type: xdp
# description: reads on the fall-through of data + 14 >= data_end, where data + 14 <
# description: data_end
# verdict: accept
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 14
        jge %r4, %r3, out
        ldxb %r0, [%r2+13]

out:
        mov %r0, 2
        exit
