# name: ctx_tc_narrow_read_high
# category: context
# type: tc
# description: reads the highest byte of __sk_buff.len
# verdict: accept
        ldxb %r2, [%r1+3]

        mov %r0, 0
        exit
