# name: helper_lookup_on_ringbuf
# category: helper
# type: xdp
# map: ringbuf entries=4096
# description: calls bpf_map_lookup_elem on a ring buffer (whose key size is 0)
# verdict: reject
# kernel-message: invalid zero-sized read
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        mov %r0, 0
        exit
