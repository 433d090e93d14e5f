# name: loop_may_goto_map_overrun
# category: loop
# type: xdp
# map: array key=4 value=16 entries=1
# description: a may_goto loop writes byte i of a map value for i = 0, 1, ...:
# description: the index is precise (added to a pointer), so the iterations are
# description: not merged and the 17th write is past the value
# verdict: reject
# kernel-message: invalid access to map value, value_size=16 off=16 size=1
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        mov %r6, %r0
        mov %r7, 0
again:
        may_goto out
        mov %r1, %r6
        add %r1, %r7
        stb [%r1+0], 0
        add %r7, 1
        ja again
out:
        mov %r0, 0
        exit
