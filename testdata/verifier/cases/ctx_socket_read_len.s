# name: ctx_socket_read_len
# category: context
# type: socket
# description: reads __sk_buff.len, mark and cb[4] in a socket filter
# verdict: accept
        ldxw %r2, [%r1+0]
        ldxw %r2, [%r1+8]
        ldxw %r2, [%r1+64]

        mov %r0, 0
        exit
