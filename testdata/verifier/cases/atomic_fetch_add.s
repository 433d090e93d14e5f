# name: atomic_fetch_add
# category: atomic
# type: xdp
# map: hash key=4 value=16 entries=4
# description: atomically adds and fetches the old value, which is a scalar
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r1, 1
        lock fetch add [%r0+0], %r1
        mov %r0, %r1
        and %r0, 1
        exit
out:
        mov %r0, 0
        exit
