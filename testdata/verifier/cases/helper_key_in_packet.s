# name: helper_key_in_packet
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: uses 4 checked packet bytes as the key
# verdict: accept
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        mov %r4, %r2
        add %r4, 4
        jgt %r4, %r3, out
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

out:
        mov %r0, 0
        exit
