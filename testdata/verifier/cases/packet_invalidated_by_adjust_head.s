# name: packet_invalidated_by_adjust_head
# category: packet
# type: xdp
# description: uses a checked packet pointer after bpf_xdp_adjust_head, which
# description: invalidates it
# verdict: reject
# kernel-message: R7 invalid mem access 'scalar'
        mov %r6, %r1
        ldxw %r7, [%r6+0]
        ldxw %r3, [%r6+4]
        mov %r4, %r7
        add %r4, 14
        jgt %r4, %r3, out
        mov %r1, %r6
        mov %r2, 0
        call 44                     # bpf_xdp_adjust_head
        ldxb %r0, [%r7+0]

out:
        mov %r0, 2
        exit
