# name: bounds_or_sets_high
# category: bounds
# type: xdp
# map: array key=4 value=64 entries=1
# description: or-ing 8 into a value in [0, 7] gives [8, 15]: scaled by 8 it passes the
# description: end
# verdict: reject
# kernel-message: invalid access to map value, value_size=64 off=64 size=8
        call 7                      # bpf_get_prandom_u32: r0 is an unknown scalar
        mov %r7, %r0

        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        and %r7, 7
        or %r7, 8
        lsh %r7, 3

        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
