# name: ctx_raw_tp_narrow
# category: context
# type: raw_tp
# description: reads 4 bytes of an argument of a raw tracepoint
# verdict: accept
        ldxw %r2, [%r1+8]

        mov %r0, 0
        exit
