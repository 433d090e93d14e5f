# name: ctx_return_large_syscall
# category: context
# type: syscall
# description: a syscall program returns 1000, outside the range of the type's defined
# description: return codes
# verdict: accept
        mov %r0, 1000
        exit
