# name: helper_key_in_map_value
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: uses a map value as the key of a lookup
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r2, %r0
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

out:
        mov %r0, 0
        exit
