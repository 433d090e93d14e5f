# name: ctx_variable_offset
# category: context
# type: xdp
# description: adds a variable offset in [0, 4] (masked) to the context pointer and
# description: reads
# verdict: reject
# kernel-message: variable ctx access var_off=(0x0; 0x4) disallowed
        mov %r6, %r1
        call 7                      # bpf_get_prandom_u32
        and %r0, 4
        add %r6, %r0
        ldxw %r0, [%r6+0]

        mov %r0, 0
        exit
