# name: atomic_load_acquire_misaligned
# category: atomic
# type: xdp
# map: array key=4 value=16 entries=1
# description: a 4-byte load-acquire at offset 2 of a map value (must be aligned)
# verdict: reject
# kernel-message: misaligned value access off 0+0+2 size 4
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldacqw %r0, [%r0+2]
out:
        mov %r0, 0
        exit
