# name: ptr_sub_bounded_scalar
# category: pointer
# type: xdp
# map: array key=4 value=64 entries=1
# description: subtracts a value in [0, 8] from a map value pointer advanced by 8
# verdict: reject
# kernel-message: R0 unbounded memory access, make sure to bounds check any such access
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxb %r1, [%r0+0]
        and %r1, 8
        add %r0, 8
        sub %r0, %r1
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
