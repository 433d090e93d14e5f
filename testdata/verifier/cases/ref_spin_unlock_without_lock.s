# name: ref_spin_unlock_without_lock
# category: reference
# type: xdp
# map: array key=4 value=16 entries=1 lock=0
# description: releases a spin lock that was not taken
# verdict: reject
# kernel-message: bpf_spin_unlock without taking a lock
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r1, %r0
        call 94                     # bpf_spin_unlock

out:
        mov %r0, 0
        exit
