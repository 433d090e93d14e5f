# name: mod_result_bounds_index
# category: division
# type: xdp
# map: array key=4 value=64 entries=1
# description: takes the remainder of an unknown value by a register holding 8 and uses
# description: it as a map value index
# verdict: reject
# kernel-message: math between map_value pointer and register with unbounded min value is not allowed
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxdw %r7, [%r0+0]
        mov %r8, 8
        mod %r7, %r8
        lsh %r7, 3
        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
