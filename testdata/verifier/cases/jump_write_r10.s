# name: jump_write_r10
# category: jump
# type: xdp
# description: writes the frame pointer
# verdict: reject
# kernel-message: frame pointer is read only
        mov %r10, 0
        mov %r0, 0
        exit
