# name: ctx_syscall_read_write
# category: context
# type: syscall
# description: reads and writes the context memory of a syscall program at several
# description: offsets
# verdict: accept
        ldxdw %r2, [%r1+0]
        stxdw [%r1+8], %r2
        ldxb %r2, [%r1+3]
        stw [%r1+1000], 5

        mov %r0, 0
        exit
