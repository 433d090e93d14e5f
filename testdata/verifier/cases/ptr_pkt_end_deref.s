# name: ptr_pkt_end_deref
# category: pointer
# type: xdp
# description: reads through data_end
# verdict: reject
# kernel-message: R3 invalid mem access 'pkt_end'
        ldxw %r3, [%r1+4]
        ldxb %r0, [%r3-1]
        exit
