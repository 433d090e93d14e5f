# name: ctx_xdp_write_ifindex
# category: context
# type: xdp
# description: writes xdp_md.ingress_ifindex
# verdict: reject
# kernel-message: invalid bpf_context access off=12 size=4
        mov %r2, 1
        stxw [%r1+12], %r2

        mov %r0, 0
        exit
