# name: atomic_add_map_value
# category: atomic
# type: xdp
# map: hash key=4 value=16 entries=4
# description: atomically adds to a map value
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r1, 1
        lock add [%r0+8], %r1

out:
        mov %r0, 0
        exit
