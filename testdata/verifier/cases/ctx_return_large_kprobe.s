# name: ctx_return_large_kprobe
# category: context
# type: kprobe
# description: a kprobe program returns 1000, outside the range of the type's defined
# description: return codes
# verdict: accept
        mov %r0, 1000
        exit
