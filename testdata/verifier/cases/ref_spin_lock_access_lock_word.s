# name: ref_spin_lock_access_lock_word
# category: reference
# type: xdp
# map: array key=4 value=16 entries=1 lock=0
# description: reads the bpf_spin_lock word of the value directly
# verdict: reject
# kernel-message: bpf_spin_lock cannot be accessed directly by load/store
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        ldxw %r0, [%r0+0]

out:
        mov %r0, 0
        exit
