# name: jump_compare_uninit
# category: jump
# type: xdp
# description: compares an uninitialized register
# verdict: reject
# kernel-message: R5 !read_ok
        mov %r0, 0
        jeq %r5, 0, +0
        exit
