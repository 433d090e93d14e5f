# name: ctx_xdp_egress_ifindex
# category: context
# type: xdp
# description: reads egress_ifindex, which only devmap XDP programs may read
# verdict: reject
# kernel-message: invalid bpf_context access off=20 size=4
        ldxw %r0, [%r1+20]

        mov %r0, 0
        exit
