# name: stack_write_above_frame
# category: stack
# type: xdp
# description: writes a byte at r10+0
# verdict: reject
# kernel-message: invalid write to stack R10 off=0 size=1
        stb [%r10+0], 0
        mov %r0, 0
        exit
