# name: map_value_write_full
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=4
# description: writes both 8-byte halves of a 16-byte value
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        stdw [%r0+0], 1
        mov %r1, 2
        stxdw [%r0+8], %r1

out:
        mov %r0, 0
        exit
