# name: tail_call_lookup_prog_array
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# description: looks up an element of a program array
# verdict: reject
# kernel-message: cannot pass map_type 3 into func bpf_map_lookup_elem#1
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        mov %r0, 0
        exit
