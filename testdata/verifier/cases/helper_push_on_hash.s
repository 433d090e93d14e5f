# name: helper_push_on_hash
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: calls bpf_map_push_elem on a hash map
# verdict: reject
# kernel-message: cannot pass map_type 1 into func bpf_map_push_elem#87
        stdw [%r10-8], 0
        lddw %r1, map_fd 0
        mov %r2, %r10
        add %r2, -8
        mov %r3, 0
        call 87                     # bpf_map_push_elem
        mov %r0, 0
        exit
