# name: ctx_xdp_narrow_read
# category: context
# type: xdp
# description: reads the low byte of ingress_ifindex
# verdict: reject
# kernel-message: invalid bpf_context access off=12 size=1
        ldxb %r0, [%r1+12]

        mov %r0, 0
        exit
