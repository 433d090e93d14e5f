# name: packet_var_offset_check_before_add
# category: packet
# type: xdp
# description: checks 4 bytes from data, then adds a variable offset and reads
# verdict: reject
# kernel-message: invalid access to packet, off=0 size=1, R4(id=1,off=0,r=0)
        ldxw %r2, [%r1+0]           # data
        ldxw %r3, [%r1+4]           # data_end

        mov %r4, %r2
        add %r4, 4
        jgt %r4, %r3, out
        ldxb %r5, [%r2+0]
        and %r5, 0x3f
        mov %r4, %r2
        add %r4, %r5
        ldxb %r0, [%r4+0]

out:
        mov %r0, 2
        exit
