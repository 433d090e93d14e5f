# name: ptr_sub_pkt_ptrs
# category: pointer
# type: xdp
# description: subtracts data from data_end to get the packet length
# verdict: accept
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        sub %r3, %r2
        mov %r0, %r3
        and %r0, 3
        exit
