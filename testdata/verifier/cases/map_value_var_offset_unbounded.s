# name: map_value_var_offset_unbounded
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=4
# description: adds an unknown 64-bit value read from the value
# verdict: reject
# kernel-message: math between map_value pointer and register with unbounded min value is not allowed
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxdw %r7, [%r0+0]
        add %r0, %r7
        ldxb %r0, [%r0+0]

out:
        mov %r0, 0
        exit
