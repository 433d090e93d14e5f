# name: packet_reload_after_adjust_head
# category: packet
# type: xdp
# description: reloads data and data_end after bpf_xdp_adjust_head and checks again
# verdict: accept
        mov %r6, %r1
        mov %r2, 0
        call 44                     # bpf_xdp_adjust_head
        ldxw %r2, [%r6+0]
        ldxw %r3, [%r6+4]
        mov %r4, %r2
        add %r4, 14
        jgt %r4, %r3, out
        ldxb %r0, [%r2+0]

out:
        mov %r0, 2
        exit
