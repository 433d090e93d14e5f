# name: map_value_const_arith
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=4
# description: adds 8 to the value pointer and reads 8 bytes
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        add %r0, 8
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
