# name: call_ctx_in_callee
# category: call
# type: xdp
# description: the context pointer is passed to a subprogram that reads a field
# verdict: accept
        call local f
        exit
f:
        ldxw %r0, [%r1+12]
        exit
