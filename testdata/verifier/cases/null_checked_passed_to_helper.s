# name: null_checked_passed_to_helper
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: passes a checked lookup result as the key of another lookup
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
