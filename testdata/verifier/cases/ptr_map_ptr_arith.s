# name: ptr_map_ptr_arith
# category: pointer
# type: xdp
# map: array key=4 value=8 entries=1
# description: adds 8 to a map pointer
# verdict: reject
# kernel-message: R1 pointer arithmetic on map_ptr prohibited
        lddw %r1, map_fd 0
        add %r1, 8

        mov %r0, 0
        exit
