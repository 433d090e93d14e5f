# name: bounds_signed_check_of_byte
# category: bounds
# type: xdp
# map: array key=4 value=64 entries=1
# description: a zero-extended byte is never negative, so a signed upper bound suffices
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        ldxb %r7, [%r0+0]

        jsgt %r7, 7, out
        lsh %r7, 3

        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
