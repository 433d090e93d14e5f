# name: ctx_return_large_raw_tp
# category: context
# type: raw_tp
# description: a raw_tp program returns 1000, outside the range of the type's defined
# description: return codes
# verdict: accept
        mov %r0, 1000
        exit
