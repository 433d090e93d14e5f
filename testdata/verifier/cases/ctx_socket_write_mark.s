# name: ctx_socket_write_mark
# category: context
# type: socket
# description: writes __sk_buff.mark in a socket filter
# verdict: reject
# kernel-message: invalid bpf_context access off=8 size=4
        mov %r2, 1
        stxw [%r1+8], %r2

        mov %r0, 0
        exit
