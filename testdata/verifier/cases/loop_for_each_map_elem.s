# name: loop_for_each_map_elem
# category: loop
# type: xdp
# map: array key=4 value=8 entries=4
# description: iterates an array with bpf_for_each_map_elem; the callback reads each
# description: value
# verdict: accept
        lddw %r1, map_fd 0
        lddw %r2, func cb
        mov %r3, 0
        mov %r4, 0
        call 164                    # bpf_for_each_map_elem
        mov %r0, 0
        exit
cb:
        ldxdw %r0, [%r3+0]
        mov %r0, 0
        exit
