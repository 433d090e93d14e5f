# name: bounds_signed_both
# category: bounds
# type: xdp
# map: array key=4 value=64 entries=1
# description: signed upper and lower bounds together make the index safe
# verdict: accept
        call 7                      # bpf_get_prandom_u32: r0 is an unknown scalar
        mov %r7, %r0

        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        jsgt %r7, 7, out
        jslt %r7, 0, out
        lsh %r7, 3

        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
