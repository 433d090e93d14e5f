# name: null_passed_to_helper
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: passes an unchecked lookup result as the key of another lookup
# verdict: reject
# kernel-message: R2 type=map_value_or_null expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        mov %r2, %r0
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

out:
        mov %r0, 0
        exit
