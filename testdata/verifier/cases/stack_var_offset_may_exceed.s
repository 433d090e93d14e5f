# name: stack_var_offset_may_exceed
# category: stack
# type: xdp
# description: writes at r10 - 8 plus a value in [0, 15]: can leave the frame
# verdict: reject
# kernel-message: invalid variable-offset write to stack R1 var_off=(0x0; 0xf) off=-8 size=1
        call 7                      # bpf_get_prandom_u32
        and %r0, 15
        mov %r1, %r10
        add %r1, -8
        add %r1, %r0
        stb [%r1+0], 5
        mov %r0, 0
        exit
