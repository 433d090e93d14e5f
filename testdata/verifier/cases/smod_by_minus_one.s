# name: smod_by_minus_one
# category: division
# type: xdp
# description: signed remainder of an unknown value by -1
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        smod %r0, -1
        exit
