# name: ctx_xdp_read_fields
# category: context
# type: xdp
# description: reads data, data_end, data_meta, ingress_ifindex and rx_queue_index of
# description: xdp_md
# verdict: accept
        ldxw %r2, [%r1+0]
        ldxw %r2, [%r1+4]
        ldxw %r2, [%r1+8]
        ldxw %r2, [%r1+12]
        ldxw %r2, [%r1+16]

        mov %r0, 0
        exit
