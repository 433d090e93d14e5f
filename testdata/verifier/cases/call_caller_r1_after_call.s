# name: call_caller_r1_after_call
# category: call
# type: xdp
# description: the caller reads r1 after the call, which clobbers r1 to r5
# verdict: reject
# kernel-message: R1 !read_ok
        mov %r1, 1
        call local f
        mov %r0, %r1
        exit
f:
        mov %r0, 0
        exit
