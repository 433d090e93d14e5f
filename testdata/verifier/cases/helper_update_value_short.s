# name: helper_update_value_short
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: updates with an 8-byte value of which only 4 bytes are on the stack
# description: frame
# verdict: reject
# kernel-message: invalid read from stack R3 off=-4 size=8
        stw [%r10-4], 1
        stw [%r10-8], 2
        lddw %r1, map_fd 0
        mov %r2, %r10
        add %r2, -4
        mov %r3, %r10
        add %r3, -4
        mov %r4, 0
        call 2                      # bpf_map_update_elem
        mov %r0, 0
        exit
