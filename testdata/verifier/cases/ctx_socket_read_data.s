# name: ctx_socket_read_data
# category: context
# type: socket
# description: reads __sk_buff.data in a socket filter
# verdict: reject
# kernel-message: invalid bpf_context access off=76 size=4
        ldxw %r2, [%r1+76]

        mov %r0, 0
        exit
