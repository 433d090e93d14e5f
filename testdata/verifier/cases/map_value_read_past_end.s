# name: map_value_read_past_end
# category: map_value
# type: xdp
# map: array key=4 value=8 entries=4
# description: reads 8 bytes at offset 4 of an 8-byte value
# verdict: reject
# kernel-message: invalid access to map value, value_size=8 off=4 size=8
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxdw %r0, [%r0+4]

out:
        mov %r0, 0
        exit
