# name: stack_var_offset_write_misaligned
# category: stack
# type: xdp
# description: writes 8 bytes at a variable offset in [-16, -9]
# verdict: reject
# kernel-message: misaligned stack access off (0x0; 0x7)+-16+0 size 8
        call 7                      # bpf_get_prandom_u32
        and %r0, 7
        mov %r1, %r10
        add %r1, -16
        add %r1, %r0
        stdw [%r1+0], 5
        mov %r0, 0
        exit
