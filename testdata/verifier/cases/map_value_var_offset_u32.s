# name: map_value_var_offset_u32
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=4
# description: adds an unknown 32-bit value read from the value (non-negative but too
# description: large)
# verdict: reject
# kernel-message: R0 unbounded memory access, make sure to bounds check any such access
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxw %r7, [%r0+0]
        add %r0, %r7
        ldxb %r0, [%r0+0]

out:
        mov %r0, 0
        exit
