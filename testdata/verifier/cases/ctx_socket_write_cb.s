# name: ctx_socket_write_cb
# category: context
# type: socket
# description: writes __sk_buff.cb[0] in a socket filter
# verdict: accept
        mov %r2, 1
        stxw [%r1+48], %r2

        mov %r0, 0
        exit
