# name: ref_spin_lock_no_unlock
# category: reference
# type: xdp
# map: array key=4 value=16 entries=1 lock=0
# description: takes a spin lock and returns without releasing it
# verdict: reject
# kernel-message: BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r6, %r0
        mov %r1, %r6
        call 93                     # bpf_spin_lock

out:
        mov %r0, 0
        exit
