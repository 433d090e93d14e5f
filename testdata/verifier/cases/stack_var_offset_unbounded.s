# name: stack_var_offset_unbounded
# category: stack
# type: xdp
# description: writes through r10 plus an unknown value
# verdict: reject
# kernel-message: math between fp pointer and register with unbounded min value is not allowed
        call 7                      # bpf_get_prandom_u32
        mov %r1, %r10
        add %r1, %r0
        stb [%r1+0], 5
        mov %r0, 0
        exit
