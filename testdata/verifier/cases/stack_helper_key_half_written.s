# name: stack_helper_key_half_written
# category: stack
# type: xdp
# map: hash key=8 value=8 entries=4
# description: passes an 8-byte key of which 4 bytes were written
# verdict: accept
        stw [%r10-8], 0
        mov %r2, %r10
        add %r2, -8
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        mov %r0, 0
        exit
