# name: jump_add_r10
# category: jump
# type: xdp
# description: adds to the frame pointer
# verdict: reject
# kernel-message: frame pointer is read only
        add %r10, -8
        mov %r0, 0
        exit
