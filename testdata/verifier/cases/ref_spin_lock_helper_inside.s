# name: ref_spin_lock_helper_inside
# category: reference
# type: xdp
# map: array key=4 value=16 entries=1 lock=0
# description: calls a helper while holding a spin lock
# verdict: reject
# kernel-message: function calls are not allowed while holding a lock
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r6, %r0
        mov %r1, %r6
        call 93                     # bpf_spin_lock

        call 5                      # bpf_ktime_get_ns

        mov %r1, %r6
        call 94                     # bpf_spin_unlock

out:
        mov %r0, 0
        exit
