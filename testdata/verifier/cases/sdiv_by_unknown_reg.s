# name: sdiv_by_unknown_reg
# category: division
# type: xdp
# description: signed division by an unknown register
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        call 7                      # bpf_get_prandom_u32
        sdiv %r0, %r6
        exit
