# name: jump_r0_not_set
# category: jump
# type: xdp
# description: exits without setting r0
# verdict: reject
# kernel-message: R0 !read_ok
        mov %r1, 0
        exit
