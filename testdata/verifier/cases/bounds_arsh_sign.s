# name: bounds_arsh_sign
# category: bounds
# type: xdp
# map: array key=4 value=64 entries=1
# description: an arithmetic right shift of a byte moved to the top bits gives a signed
# description: value that can be negative
# verdict: reject
# kernel-message: R0 min value is negative, either use unsigned index or do a if (index >=0) check.
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        ldxb %r7, [%r0+0]

        lsh %r7, 56
        arsh %r7, 59

        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
