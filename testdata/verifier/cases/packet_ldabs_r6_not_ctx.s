# name: packet_ldabs_r6_not_ctx
# category: packet
# type: socket
# description: uses LD_ABS with r6 not holding the context
# verdict: reject
# kernel-message: at the time of BPF_LD_ABS|IND R6 != pointer to skb
        mov %r6, 0
        ldabsb 12
        exit
