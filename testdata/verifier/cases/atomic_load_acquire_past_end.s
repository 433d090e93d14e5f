# name: atomic_load_acquire_past_end
# category: atomic
# type: xdp
# map: array key=4 value=16 entries=1
# description: an 8-byte load-acquire at offset 16 of a 16-byte map value
# verdict: reject
# kernel-message: invalid access to map value, value_size=16 off=16 size=8
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldacqdw %r0, [%r0+16]
out:
        mov %r0, 0
        exit
