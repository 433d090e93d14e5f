# name: helper_update_unknown_flags
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: passes an unknown value as map_update_elem's flags
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov %r4, %r0
        stw [%r10-4], 1
        stdw [%r10-16], 2
        lddw %r1, map_fd 0
        mov %r2, %r10
        add %r2, -4
        mov %r3, %r10
        add %r3, -16
        call 2                      # bpf_map_update_elem
        mov %r0, 0
        exit
