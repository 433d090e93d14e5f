# name: helper_key_too_small
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: passes a pointer to the top 2 bytes of the stack as a 4-byte key
# verdict: reject
# kernel-message: invalid read from stack R2 off=-2 size=4
        sth [%r10-2], 0
        mov %r2, %r10
        add %r2, -2
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        mov %r0, 0
        exit
