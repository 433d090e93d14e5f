# name: jump_read_r10
# category: jump
# type: xdp
# description: copies the frame pointer (reading r10 is allowed)
# verdict: accept
        mov %r1, %r10
        mov %r0, 0
        exit
