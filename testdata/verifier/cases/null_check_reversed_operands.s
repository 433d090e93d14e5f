# name: null_check_reversed_operands
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: checks with the constant in a register: "if r0 == r1" with r1 = 0
# verdict: reject
# kernel-message: R0 invalid mem access 'map_value_or_null'
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        mov %r1, 0
        jeq %r0, %r1, out
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
