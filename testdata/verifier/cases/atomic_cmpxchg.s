# name: atomic_cmpxchg
# category: atomic
# type: xdp
# map: hash key=4 value=16 entries=4
# description: compare-and-exchanges a map value word with r0 as the expected value
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r6, %r0
        mov %r0, 0
        mov %r1, 5
        lock cmpxchg [%r6+0], %r1

out:
        mov %r0, 0
        exit
