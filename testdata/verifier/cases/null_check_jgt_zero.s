# name: null_check_jgt_zero
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: checks the lookup result with "if r0 > 0"
# verdict: reject
# kernel-message: R0 invalid mem access 'map_value_or_null'
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        jgt %r0, 0, use
        mov %r0, 0
        exit
use:
        ldxdw %r0, [%r0+0]
        mov %r0, 0
        exit
