# name: loop_index_map_value
# category: loop
# type: xdp
# map: array key=4 value=64 entries=1
# description: sums the eight u64 words of a 64-byte map value with a loop index
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r1, 0
        mov %r2, 0
again:
        mov %r3, %r1
        lsh %r3, 3
        mov %r4, %r0
        add %r4, %r3
        ldxdw %r3, [%r4+0]
        add %r2, %r3
        add %r1, 1
        jlt %r1, 8, again

out:
        mov %r0, 0
        exit
