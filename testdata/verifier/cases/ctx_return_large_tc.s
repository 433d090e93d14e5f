# name: ctx_return_large_tc
# category: context
# type: tc
# description: a tc program returns 1000, outside the range of the type's defined
# description: return codes
# verdict: accept
        mov %r0, 1000
        exit
