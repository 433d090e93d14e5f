# name: stack_helper_key_allocated_uninit
# category: stack
# type: xdp
# map: hash key=8 value=8 entries=4
# description: passes an uninitialized key slot that lies above a written slot
# verdict: accept
        stdw [%r10-16], 0
        mov %r2, %r10
        add %r2, -8
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        mov %r0, 0
        exit
