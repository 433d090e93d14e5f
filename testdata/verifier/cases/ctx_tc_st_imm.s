# name: ctx_tc_st_imm
# category: context
# type: tc
# description: writes __sk_buff.mark with an immediate store (BPF_ST)
# verdict: accept
        stw [%r1+8], 7

        mov %r0, 0
        exit
