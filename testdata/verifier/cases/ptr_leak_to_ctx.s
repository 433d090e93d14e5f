# name: ptr_leak_to_ctx
# category: pointer
# type: tc
# description: writes the low half of a pointer into __sk_buff.mark
# verdict: accept
        mov %r2, %r10
        stxw [%r1+8], %r2
        mov %r0, 0
        exit
