# name: null_two_lookups_wrong_check
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: checks the first of two lookup results and dereferences the second
# verdict: reject
# kernel-message: R7 invalid mem access 'map_value_or_null'
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

        mov %r7, %r0
        jeq %r6, 0, out
        ldxdw %r0, [%r7+0]

out:
        mov %r0, 0
        exit
