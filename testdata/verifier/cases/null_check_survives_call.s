# name: null_check_survives_call
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: keeps the lookup result in r6 across a helper call, then checks and
# description: dereferences it
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        mov %r6, %r0
        call 5                      # bpf_ktime_get_ns
        jeq %r6, 0, out
        ldxdw %r0, [%r6+0]

out:
        mov %r0, 0
        exit
