# name: map_value_large_past
# category: map_value
# type: xdp
# map: array key=4 value=4096 entries=1
# description: reads 8 bytes at 4092 of a 4096-byte value
# verdict: reject
# kernel-message: invalid access to map value, value_size=4096 off=4092 size=8
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxdw %r0, [%r0+4092]

out:
        mov %r0, 0
        exit
