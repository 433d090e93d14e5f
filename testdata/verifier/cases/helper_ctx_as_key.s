# name: helper_ctx_as_key
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: passes the context as map_lookup_elem's key pointer
# verdict: reject
# kernel-message: R2 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_
        mov %r2, %r1
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        mov %r0, 0
        exit
