# name: bounds_jne_no_bound
# category: bounds
# type: xdp
# map: array key=4 value=64 entries=1
# description: on the branch where r7 != 5 nothing is known about it
# verdict: reject
# kernel-message: math between map_value pointer and register with unbounded min value is not allowed
        call 7                      # bpf_get_prandom_u32: r0 is an unknown scalar
        mov %r7, %r0

        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        jeq %r7, 5, out
        lsh %r7, 3

        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
