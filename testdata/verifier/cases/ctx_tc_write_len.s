# name: ctx_tc_write_len
# category: context
# type: tc
# description: writes __sk_buff.len
# verdict: reject
# kernel-message: invalid bpf_context access off=0 size=4
        mov %r2, 7
        stxw [%r1+0], %r2

        mov %r0, 0
        exit
