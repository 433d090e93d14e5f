# name: div_by_unknown_reg
# category: division
# type: xdp
# description: divides by an unknown register, which may be zero (the result is then 0)
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        call 7                      # bpf_get_prandom_u32
        div %r0, %r6
        exit
