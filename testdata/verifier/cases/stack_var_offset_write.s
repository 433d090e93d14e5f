# name: stack_var_offset_write
# category: stack
# type: xdp
# description: writes 8 bytes at a variable offset (-16 or -8)
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        and %r0, 8
        mov %r1, %r10
        add %r1, -16
        add %r1, %r0
        stdw [%r1+0], 5
        mov %r0, 0
        exit
