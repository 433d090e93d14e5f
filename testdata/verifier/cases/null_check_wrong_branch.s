# name: null_check_wrong_branch
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: dereferences on the branch where the result is NULL
# verdict: reject
# kernel-message: R0 invalid mem access 'scalar'
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        jne %r0, 0, out
        ldxdw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
