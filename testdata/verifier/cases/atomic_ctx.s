# name: atomic_ctx
# category: atomic
# type: tc
# description: atomically adds to __sk_buff.mark
# verdict: reject
# kernel-message: BPF_ATOMIC stores into R1 ctx is not allowed
        mov %r2, 1
        lock add32 [%r1+8], %r2
        mov %r0, 0
        exit
