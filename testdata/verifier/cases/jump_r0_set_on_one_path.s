# name: jump_r0_set_on_one_path
# category: jump
# type: xdp
# description: sets r0 on one branch only
# verdict: reject
# kernel-message: R0 !read_ok
        jeq %r1, 0, skip
        mov %r0, 2
skip:
        exit
