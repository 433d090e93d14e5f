# name: null_check_both_values_compared
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: compares the result with a second lookup result: equality does not prove
# description: non-NULL
# verdict: reject
# kernel-message: R6 invalid mem access 'map_value_or_null'
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        mov %r6, %r0

        stw [%r10-8], 0
        mov %r2, %r10
        add %r2, -8
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        jne %r6, %r0, out
        ldxdw %r0, [%r6+0]

out:
        mov %r0, 0
        exit
