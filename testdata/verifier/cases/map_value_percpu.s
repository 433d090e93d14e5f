# name: map_value_percpu
# category: map_value
# type: xdp
# map: percpu_array key=4 value=8 entries=4
# description: reads and writes a per-CPU array value
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxdw %r1, [%r0+0]
        add %r1, 1
        stxdw [%r0+0], %r1

out:
        mov %r0, 0
        exit
