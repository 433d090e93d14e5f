# name: spill_pointer_to_map_value
# category: spill
# type: xdp
# map: hash key=4 value=8 entries=4
# description: stores the context pointer into a map value, then reads it back as a
# description: scalar
# verdict: reject
# kernel-message: R1 invalid mem access 'scalar'
        mov %r6, %r1
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        stxdw [%r0+0], %r6
        ldxdw %r1, [%r0+0]
        ldxw %r0, [%r1+0]

out:
        mov %r0, 0
        exit
