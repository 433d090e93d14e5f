# name: packet_var_offset_unbounded
# category: packet
# type: xdp
# description: adds an unbounded 64-bit value to a packet pointer
# verdict: reject
# kernel-message: math between pkt pointer and register with unbounded min value is not allowed
        mov %r6, %r1
        call 5                      # bpf_ktime_get_ns: unknown
        ldxw %r2, [%r6+0]
        ldxw %r3, [%r6+4]
        add %r2, %r0
        mov %r4, %r2
        add %r4, 1
        jgt %r4, %r3, out
        ldxb %r0, [%r2+0]

out:
        mov %r0, 2
        exit
