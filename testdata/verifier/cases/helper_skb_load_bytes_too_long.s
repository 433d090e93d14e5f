# name: helper_skb_load_bytes_too_long
# category: helper
# type: tc
# map: hash key=4 value=8 entries=4
# description: calls bpf_skb_load_bytes for 16 bytes into 8 bytes of stack
# verdict: reject
# kernel-message: invalid write to stack R3 off=-8 size=16
        mov %r2, 0
        mov %r3, %r10
        add %r3, -8
        mov %r4, 16
        call 26                     # bpf_skb_load_bytes
        mov %r0, 0
        exit
