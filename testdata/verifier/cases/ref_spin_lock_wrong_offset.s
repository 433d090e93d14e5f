# name: ref_spin_lock_wrong_offset
# category: reference
# type: xdp
# map: array key=4 value=16 entries=1 lock=0
# description: passes the value pointer plus 8, which is not the lock, to bpf_spin_lock
# verdict: reject
# kernel-message: off 8 doesn't point to 'struct bpf_spin_lock' that is at 0
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r6, %r0
        mov %r1, %r6
        add %r1, 8
        call 93                     # bpf_spin_lock
        mov %r1, %r6
        add %r1, 8
        call 94                     # bpf_spin_unlock

out:
        mov %r0, 0
        exit
