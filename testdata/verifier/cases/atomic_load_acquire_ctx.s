# name: atomic_load_acquire_ctx
# category: atomic
# type: xdp
# description: a load-acquire of a context field (not allowed through the context)
# verdict: reject
# kernel-message: BPF_ATOMIC loads from R1 ctx is not allowed
        ldacqw %r0, [%r1+0]
        mov %r0, 0
        exit
