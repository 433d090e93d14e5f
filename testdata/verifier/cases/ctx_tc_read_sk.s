# name: ctx_tc_read_sk
# category: context
# type: tc
# description: reads __sk_buff.sk and checks it for NULL
# verdict: accept
        ldxdw %r2, [%r1+168]
        jeq %r2, 0, out
        ldxw %r0, [%r2+4]           # bpf_sock.family
out:
        mov %r0, 0
        exit
