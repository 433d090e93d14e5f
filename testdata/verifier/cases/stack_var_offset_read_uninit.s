# name: stack_var_offset_read_uninit
# category: stack
# type: xdp
# description: reads at a variable offset (-16 or -8) where only -16 was written
# verdict: accept
        stdw [%r10-16], 1
        call 7                      # bpf_get_prandom_u32
        and %r0, 8
        mov %r1, %r10
        add %r1, -16
        add %r1, %r0
        ldxdw %r0, [%r1+0]
        exit
