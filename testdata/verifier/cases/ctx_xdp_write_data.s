# name: ctx_xdp_write_data
# category: context
# type: xdp
# description: writes xdp_md.data
# verdict: reject
# kernel-message: invalid bpf_context access off=0 size=4
        stxw [%r1+0], %r1

        mov %r0, 0
        exit
