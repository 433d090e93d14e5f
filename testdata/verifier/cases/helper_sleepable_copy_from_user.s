# name: helper_sleepable_copy_from_user
# category: helper
# type: syscall
# description: a syscall program calls bpf_copy_from_user, a sleepable helper
# verdict: accept
        mov %r1, %r10
        add %r1, -8
        mov %r2, 8
        mov %r3, 0
        call 148                    # bpf_copy_from_user
        mov %r0, 0
        exit
