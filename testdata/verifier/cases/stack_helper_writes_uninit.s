# name: stack_helper_writes_uninit
# category: stack
# type: raw_tp
# description: lets bpf_get_current_comm fill 16 bytes of uninitialized stack, then
# description: reads them
# verdict: accept
        mov %r1, %r10
        add %r1, -16
        mov %r2, 16
        call 16                     # bpf_get_current_comm
        ldxdw %r0, [%r10-16]
        exit
