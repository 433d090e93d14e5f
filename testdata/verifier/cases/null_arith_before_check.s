# name: null_arith_before_check
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: adds to the lookup result before checking it
# verdict: reject
# kernel-message: R0 pointer arithmetic on map_value_or_null prohibited, null-check it first
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        add %r0, 8
        jeq %r0, 0, out
        ldxdw %r0, [%r0-8]

out:
        mov %r0, 0
        exit
