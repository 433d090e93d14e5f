# name: jump_dead_branch_unknown
# category: jump
# type: xdp
# description: the same code with r0 unknown: the branch is walked
# verdict: reject
# kernel-message: R0 invalid mem access 'scalar'
        call 7                      # bpf_get_prandom_u32
        jeq %r0, 1, dead
        exit
dead:
        mov %r0, 0
        ldxdw %r0, [%r0+0]
        exit
