# name: ctx_syscall_misaligned
# category: context
# type: syscall
# description: reads 8 bytes at offset 4 of a syscall program's context
# verdict: reject
# kernel-message: invalid bpf_context access off=4 size=8
        ldxdw %r2, [%r1+4]

        mov %r0, 0
        exit
