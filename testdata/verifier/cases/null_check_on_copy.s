# name: null_check_on_copy
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: checks a copy of the lookup result for NULL and dereferences the
# description: original
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        mov %r1, %r0
        jeq %r1, 0, out
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
