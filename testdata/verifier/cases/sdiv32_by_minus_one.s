# name: sdiv32_by_minus_one
# category: division
# type: xdp
# description: signed 32-bit division of an unknown value by -1 (INT_MIN / -1
# description: overflows)
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        sdiv32 %r0, -1
        exit
