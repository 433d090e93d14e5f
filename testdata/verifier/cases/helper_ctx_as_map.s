# name: helper_ctx_as_map
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: passes the context where map_lookup_elem expects a map
# verdict: reject
# kernel-message: R1 type=ctx expected=map_ptr
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        call 1                      # bpf_map_lookup_elem
        mov %r0, 0
        exit
