# name: null_percpu_array_const_key
# category: null
# type: xdp
# map: percpu_array key=4 value=8 entries=16
# description: dereferences a per-CPU array lookup with a constant in-range key without
# description: a NULL check
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        ldxdw %r0, [%r0+0]
        mov %r0, 0
        exit
