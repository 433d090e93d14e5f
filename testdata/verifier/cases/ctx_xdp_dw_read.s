# name: ctx_xdp_dw_read
# category: context
# type: xdp
# description: reads xdp_md.data with an 8-byte load
# verdict: reject
# kernel-message: invalid bpf_context access off=0 size=8
        ldxdw %r0, [%r1+0]

        mov %r0, 0
        exit
