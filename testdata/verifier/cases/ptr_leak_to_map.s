# name: ptr_leak_to_map
# category: pointer
# type: xdp
# map: hash key=4 value=8 entries=4
# description: stores the context pointer into a map value (a pointer leak, which root
# description: may do)
# verdict: accept
        mov %r6, %r1
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        stxdw [%r0+0], %r6

out:
        mov %r0, 0
        exit
