# name: ptr_return_pointer_raw_tp
# category: pointer
# type: raw_tp
# description: a raw tracepoint program returns the context pointer
# verdict: accept
        mov %r0, %r1
        exit
