# name: helper_csum_diff_null_sized
# category: helper
# type: xdp
# description: passes NULL as bpf_csum_diff's "to" (memory that may be NULL) with a
# description: to_size of 0x303030: NULL is memory of no bytes, so only a size of 0 goes
# description: with it (found by FuzzSoundness: the helper read 0x303030 bytes at 0)
# verdict: reject
# kernel-message: R3 type=scalar expected=fp
        stdw [%r10-8], 0
        mov %r1, %r10
        add %r1, -8
        mov %r2, 8
        mov %r3, 0
        mov %r4, 0x303030
        mov %r5, 0
        call 28                     # bpf_csum_diff
        mov %r0, 2
        exit
