# name: call_r0_not_set
# category: call
# type: xdp
# description: the subprogram returns without setting r0
# verdict: reject
# kernel-message: R0 !read_ok
        call local f
        exit
f:
        mov %r1, 0
        exit
