# name: bounds_movsx32_link
# category: bounds
# type: raw_tp
# map: array key=4 value=8 entries=1
# description: w7 = (s16)w6 with r6 in [0, 16383] links r7 to r6 (the value
# description: does not change), so bounding r7 to [0, 3] bounds r6 too and
# description: the read at r6 stays inside the 8-byte value
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        and %r6, 0x3fff
        movsx1632 %r7, %r6
        jgt %r7, 3, out
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        add %r0, %r6
        ldxb %r1, [%r0]
out:
        mov %r0, 0
        exit
