# name: ptr_sub_unknown_scalar
# category: pointer
# type: xdp
# map: array key=4 value=64 entries=1
# description: subtracts an unknown scalar from a map value pointer
# verdict: reject
# kernel-message: math between map_value pointer and register with unbounded min value is not allowed
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxdw %r1, [%r0+0]
        sub %r0, %r1
        ldxb %r0, [%r0+0]

out:
        mov %r0, 0
        exit
