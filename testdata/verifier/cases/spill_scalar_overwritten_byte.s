# name: spill_scalar_overwritten_byte
# category: spill
# type: xdp
# map: array key=4 value=64 entries=1
# description: spills a scalar in [0, 56], overwrites its top byte, and uses the fill
# description: as an offset
# verdict: reject
# kernel-message: math between map_value pointer and register with unbounded min value is not allowed
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxb %r7, [%r0+0]
        and %r7, 0x38
        stxdw [%r10-16], %r7
        stb [%r10-9], 0
        ldxdw %r7, [%r10-16]
        add %r0, %r7
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
