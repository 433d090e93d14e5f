# name: ctx_tc_narrow_read
# category: context
# type: tc
# description: reads one byte of __sk_buff.len and two bytes of protocol
# verdict: accept
        ldxb %r2, [%r1+0]
        ldxh %r2, [%r1+16]

        mov %r0, 0
        exit
