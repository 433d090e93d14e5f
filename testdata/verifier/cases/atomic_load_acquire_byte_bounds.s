# name: atomic_load_acquire_byte_bounds
# category: atomic
# type: xdp
# map: array key=4 value=256 entries=1
# description: a one-byte load-acquire zero-extends: its value indexes a 256-byte
# description: map value
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        stdw [%r10-16], -1
        ldacqb %r1, [%r10-16]
        add %r0, %r1
        ldxb %r0, [%r0+0]
        exit
out:
        mov %r0, 0
        exit
