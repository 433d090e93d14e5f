# name: helper_sleepable_only_in_xdp
# category: helper
# type: xdp
# description: an XDP program calls bpf_copy_from_user, a helper for sleepable programs
# verdict: reject
# kernel-message: helper call might sleep in a non-sleepable prog
        mov %r1, %r10
        add %r1, -8
        mov %r2, 8
        mov %r3, 0
        call 148                    # bpf_copy_from_user
        mov %r0, 0
        exit
