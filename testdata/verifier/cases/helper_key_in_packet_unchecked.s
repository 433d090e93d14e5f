# name: helper_key_in_packet_unchecked
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: uses packet bytes as the key with only 2 bytes checked
# verdict: reject
# kernel-message: invalid access to packet, off=0 size=4, R2(id=0,off=0,r=2)
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        mov %r4, %r2
        add %r4, 2
        jgt %r4, %r3, out
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

out:
        mov %r0, 0
        exit
