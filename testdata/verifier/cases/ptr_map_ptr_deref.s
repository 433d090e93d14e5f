# name: ptr_map_ptr_deref
# category: pointer
# type: xdp
# map: array key=4 value=8 entries=1
# description: reads through a map pointer
# verdict: accept
        lddw %r1, map_fd 0
        ldxdw %r0, [%r1+0]

        mov %r0, 0
        exit
