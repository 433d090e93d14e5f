# name: bounds_movsx_link_negative
# category: bounds
# type: raw_tp
# map: array key=4 value=8 entries=1
# description: r7 = (s8)r6 with r6 in [-100, 100] does not link r7 to r6 (the
# description: kernel links them only when r6's unsigned maximum is below 128),
# description: so bounding r7 to [0, 3] leaves r6 in [-100, 100] and adding r6
# description: to a map value pointer is refused
# verdict: reject
# kernel-message: R0 min value is negative, either use unsigned index or do a if (index >=0) check.
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        jsgt %r6, 100, out
        jslt %r6, -100, out
        movsx864 %r7, %r6
        jsgt %r7, 3, out
        jslt %r7, 0, out
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
