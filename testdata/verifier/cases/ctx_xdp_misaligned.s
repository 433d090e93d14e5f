# name: ctx_xdp_misaligned
# category: context
# type: xdp
# description: reads 4 bytes at offset 2
# verdict: reject
# kernel-message: invalid bpf_context access off=2 size=4
        ldxw %r0, [%r1+2]

        mov %r0, 0
        exit
