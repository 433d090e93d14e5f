# name: loop_bpf_loop_ctx_null_deref
# category: loop
# type: xdp
# description: the callback dereferences its context, which is NULL
# verdict: reject
# kernel-message: R2 invalid mem access 'scalar'
        mov %r1, 10
        lddw %r2, func cb
        mov %r3, 0
        mov %r4, 0
        call 181                    # bpf_loop
        mov %r0, 0
        exit
cb:
        ldxdw %r0, [%r2+0]
        mov %r0, 0
        exit
