# name: helper_skb_load_bytes_xdp
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: calls bpf_skb_load_bytes in an XDP program
# verdict: reject
# kernel-message: program of this type cannot use helper bpf_skb_load_bytes#26
        mov %r2, 0
        mov %r3, %r10
        add %r3, -8
        mov %r4, 8
        call 26                     # bpf_skb_load_bytes
        mov %r0, 0
        exit
