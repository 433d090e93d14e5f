# name: prune_fork_sign_mask_or
# category: bounds
# type: xdp
# map: array key=4 value=8 entries=1
# description: x s>> 31 is 0 or -1, and the verifier explores the two separately (the
# description: kernel's maybe_fork_scalars); the path with 0 must still run the or: 0 | 8 is 8,
# description: not 0, so the access at offset 8 of an 8-byte value is refused (a fork that
# description: set the result to 0 after the or would accept it)
# verdict: reject
# kernel-message: invalid access to map value, value_size=8 off=8 size=8
        call 7                      # bpf_get_prandom_u32
        mov32 %r6, %r0
        arsh32 %r6, 31
        or32 %r6, 8
        jeq32 %r6, -1, out0

        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out
        add %r0, %r6
        ldxdw %r0, [%r0+0]
out:
        mov %r0, 0
        exit
out0:
        mov %r0, 0
        exit
