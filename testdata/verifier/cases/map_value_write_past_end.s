# name: map_value_write_past_end
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=4
# description: writes 8 bytes at offset 9 of a 16-byte value
# verdict: reject
# kernel-message: invalid access to map value, value_size=16 off=9 size=8
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        stdw [%r0+9], 1

out:
        mov %r0, 0
        exit
