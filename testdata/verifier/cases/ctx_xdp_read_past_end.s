# name: ctx_xdp_read_past_end
# category: context
# type: xdp
# description: reads 4 bytes at offset 24, past xdp_md
# verdict: reject
# kernel-message: invalid bpf_context access off=24 size=4
        ldxw %r0, [%r1+24]

        mov %r0, 0
        exit
