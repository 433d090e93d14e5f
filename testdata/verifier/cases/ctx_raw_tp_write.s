# name: ctx_raw_tp_write
# category: context
# type: raw_tp
# description: writes an argument of a raw tracepoint
# verdict: reject
# kernel-message: invalid bpf_context access off=0 size=8
        mov %r2, 0
        stxdw [%r1+0], %r2

        mov %r0, 0
        exit
