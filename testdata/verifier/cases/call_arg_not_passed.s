# name: call_arg_not_passed
# category: call
# type: xdp
# description: the subprogram reads r3, which the caller never set
# verdict: reject
# kernel-message: R3 !read_ok
        mov %r1, 1
        mov %r2, 2
        call local add
        exit
add:
        mov %r0, %r1
        add %r0, %r3
        exit
