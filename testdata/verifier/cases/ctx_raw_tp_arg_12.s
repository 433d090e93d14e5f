# name: ctx_raw_tp_arg_12
# category: context
# type: raw_tp
# description: reads the 13th argument (offset 96) of a raw tracepoint
# verdict: reject
# kernel-message: invalid bpf_context access off=96 size=8
        ldxdw %r2, [%r1+96]

        mov %r0, 0
        exit
