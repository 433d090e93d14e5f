# name: div_by_uninit_reg
# category: division
# type: xdp
# description: divides by an uninitialized register
# verdict: reject
# kernel-message: R5 !read_ok
        mov %r0, 7
        div %r0, %r5
        exit
