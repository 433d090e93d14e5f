# name: ctx_syscall_negative
# category: context
# type: syscall
# description: reads at offset -8 of a syscall program's context
# verdict: reject
# kernel-message: invalid bpf_context access off=-8 size=8
        ldxdw %r2, [%r1-8]

        mov %r0, 0
        exit
