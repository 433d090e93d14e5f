# name: mod_by_unknown_reg
# category: division
# type: xdp
# description: takes the remainder by an unknown register, which may be zero (the
# description: dividend is then kept)
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        call 7                      # bpf_get_prandom_u32
        mod %r0, %r6
        exit
