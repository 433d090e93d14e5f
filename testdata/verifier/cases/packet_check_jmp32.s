# name: packet_check_jmp32
# category: packet
# type: xdp
# description: compares packet pointers with a 32-bit jump
# verdict: reject
# kernel-message: invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 14
        jgt32 %r4, %r3, out
        ldxb %r0, [%r2+0]

out:
        mov %r0, 2
        exit
