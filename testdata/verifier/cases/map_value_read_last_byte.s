# name: map_value_read_last_byte
# category: map_value
# type: xdp
# map: array key=4 value=8 entries=4
# description: reads the last byte of an 8-byte value
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxb %r0, [%r0+7]

out:
        mov %r0, 0
        exit
