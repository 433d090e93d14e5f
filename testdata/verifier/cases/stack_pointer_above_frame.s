# name: stack_pointer_above_frame
# category: stack
# type: xdp
# description: writes through r10 + 8 computed in another register
# verdict: reject
# kernel-message: invalid write to stack R1 off=7 size=1
        mov %r1, %r10
        add %r1, 8
        stb [%r1-1], 0
        mov %r0, 0
        exit
