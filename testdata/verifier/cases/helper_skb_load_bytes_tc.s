# name: helper_skb_load_bytes_tc
# category: helper
# type: tc
# map: hash key=4 value=8 entries=4
# description: calls bpf_skb_load_bytes in a TC program into 8 bytes of stack
# verdict: accept
        mov %r2, 0
        mov %r3, %r10
        add %r3, -8
        mov %r4, 8
        call 26                     # bpf_skb_load_bytes
        mov %r0, 0
        exit
