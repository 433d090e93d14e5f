# name: null_check_then_overwritten
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: checks a lookup result, then dereferences a second, unchecked lookup
# description: result in the same register
# verdict: reject
# kernel-message: R0 invalid mem access 'map_value_or_null'
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        jeq %r0, 0, out

        stw [%r10-8], 0
        mov %r2, %r10
        add %r2, -8
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
