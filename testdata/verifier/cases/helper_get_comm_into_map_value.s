# name: helper_get_comm_into_map_value
# category: helper
# type: raw_tp
# map: array key=4 value=16 entries=1
# description: calls bpf_get_current_comm into a 16-byte map value
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r1, %r0
        mov %r2, 16
        call 16                     # bpf_get_current_comm

out:
        mov %r0, 0
        exit
