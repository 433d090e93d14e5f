# name: ptr_pkt_end_arith
# category: pointer
# type: xdp
# description: adds to data_end
# verdict: reject
# kernel-message: R3 pointer arithmetic on pkt_end prohibited
        ldxw %r3, [%r1+4]
        add %r3, 1

        mov %r0, 0
        exit
