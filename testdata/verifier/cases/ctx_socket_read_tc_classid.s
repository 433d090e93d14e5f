# name: ctx_socket_read_tc_classid
# category: context
# type: socket
# description: reads __sk_buff.tc_classid in a socket filter
# verdict: reject
# kernel-message: invalid bpf_context access off=72 size=4
        ldxw %r2, [%r1+72]

        mov %r0, 0
        exit
