# name: ref_spin_lock_no_btf
# category: reference
# type: xdp
# map: array key=4 value=16 entries=1
# description: takes a spin lock in a map whose value has no BTF
# verdict: reject
# kernel-message: map 'm0' has to have BTF in order to use bpf_spin_lock
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r1, %r0
        call 93                     # bpf_spin_lock
        mov %r1, %r0
        call 94                     # bpf_spin_unlock

out:
        mov %r0, 0
        exit
