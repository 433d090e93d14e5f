# name: ctx_tc_sk_unchecked
# category: context
# type: tc
# description: dereferences __sk_buff.sk without a NULL check
# verdict: reject
# kernel-message: R2 invalid mem access 'sock_common_or_null'
        ldxdw %r2, [%r1+168]
        ldxw %r0, [%r2+4]

        mov %r0, 0
        exit
