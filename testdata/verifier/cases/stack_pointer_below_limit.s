# name: stack_pointer_below_limit
# category: stack
# type: xdp
# description: writes through r10 - 520 computed in another register
# verdict: reject
# kernel-message: invalid write to stack R1 off=-520 size=1
        mov %r1, %r10
        add %r1, -520
        stb [%r1+0], 0
        mov %r0, 0
        exit
