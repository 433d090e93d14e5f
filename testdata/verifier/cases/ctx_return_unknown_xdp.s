# name: ctx_return_unknown_xdp
# category: context
# type: xdp
# description: an XDP program returns an unknown value
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        exit
