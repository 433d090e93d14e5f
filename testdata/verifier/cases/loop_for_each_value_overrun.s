# name: loop_for_each_value_overrun
# category: loop
# type: xdp
# map: array key=4 value=8 entries=4
# description: the bpf_for_each_map_elem callback reads past the 8-byte value
# verdict: reject
# kernel-message: invalid access to map value, value_size=8 off=8 size=8
        lddw %r1, map_fd 0
        lddw %r2, func cb
        mov %r3, 0
        mov %r4, 0
        call 164                    # bpf_for_each_map_elem
        mov %r0, 0
        exit
cb:
        ldxdw %r0, [%r3+8]
        mov %r0, 0
        exit
