# name: null_array_unknown_key
# category: null
# type: xdp
# map: array key=4 value=8 entries=16
# description: dereferences an array lookup with an unknown key without a NULL check
# verdict: reject
# kernel-message: R0 invalid mem access 'map_value_or_null'
        call 7                      # bpf_get_prandom_u32
        stxw [%r10-4], %r0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        ldxdw %r0, [%r0+0]
        mov %r0, 0
        exit
