# name: map_value_misaligned_read
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=4
# description: reads 8 bytes at offset 3 (misaligned) of a 16-byte value
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxdw %r0, [%r0+3]

out:
        mov %r0, 0
        exit
