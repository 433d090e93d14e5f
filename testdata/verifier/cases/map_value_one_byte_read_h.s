# name: map_value_one_byte_read_h
# category: map_value
# type: xdp
# map: hash key=4 value=1 entries=4
# description: reads 2 bytes of a 1-byte value
# verdict: reject
# kernel-message: invalid access to map value, value_size=1 off=0 size=2
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxh %r0, [%r0+0]

out:
        mov %r0, 0
        exit
