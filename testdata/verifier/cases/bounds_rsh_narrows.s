# name: bounds_rsh_narrows
# category: bounds
# type: xdp
# map: array key=4 value=64 entries=1
# description: a byte shifted right by 5 is at most 7
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        ldxb %r7, [%r0+0]

        rsh %r7, 5
        lsh %r7, 3

        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
