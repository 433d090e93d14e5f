# name: ref_spin_lock_exit_in_subprog
# category: reference
# type: xdp
# map: array key=4 value=16 entries=1 lock=0
# description: a subprogram takes the lock and the main program releases it
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r6, %r0
        mov %r1, %r6
        call local lock

        mov %r1, %r6
        call 94                     # bpf_spin_unlock

out:
        mov %r0, 0
        exit

lock:
        call 93                     # bpf_spin_lock
        mov %r0, 0
        exit
