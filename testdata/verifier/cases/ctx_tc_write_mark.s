# name: ctx_tc_write_mark
# category: context
# type: tc
# description: writes __sk_buff.mark, priority and cb[0] in a TC program
# verdict: accept
        mov %r2, 7
        stxw [%r1+8], %r2
        stxw [%r1+32], %r2
        stxw [%r1+48], %r2

        mov %r0, 0
        exit
