# name: null_check_jne
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: dereferences on the taken branch of "if r0 != 0"
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        jne %r0, 0, use
        mov %r0, 0
        exit
use:
        ldxdw %r0, [%r0+0]
        mov %r0, 0
        exit
