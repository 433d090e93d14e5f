# name: map_value_var_offset_bounded
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=4
# description: adds a value that is 0 or 8 (a byte of the value masked with 8) and
# description: reads 8 bytes
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxb %r7, [%r0+0]
        and %r7, 8
        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
