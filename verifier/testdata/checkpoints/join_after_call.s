# type: xdp
# description: three paths come to the instruction after a helper call (27) with
# description: different sizes in r7 (0, 8, 4), which the call needs exact (precise)
# description: and nothing reads after it. Each path records a checkpoint at sum
# description: (the r7 values differ there); from sum to the call they run one
# description: jump, so the kernel's heuristic (2 jumps and 8 instructions since the
# description: last checkpoint) records none at 27, and the kernel (Linux 6.18.44:
# description: 73 instructions) runs the tail three times. The second path records
# description: one at 27, a prune point the first path reached, which prunes the
# description: third (waggle: 64)
# pruned: 27
        call 7                      # bpf_get_prandom_u32
        mov %r6, %r0
        stdw [%r10-8], 0
        stdw [%r10-16], 0
        mov %r7, 0
        mov %r8, 0
        mov %r9, 0
        jeq %r6, 1, four
        jeq %r6, 2, eight
        mov %r1, 1                  # the first path runs 8 instructions from
        mov %r2, 2                  # the checkpoint at the jump above, so
        mov %r3, 3                  # that the kernel records one at sum
        mov %r4, 4
        mov %r5, 5
        mov %r0, 0
        ja sum
four:
        mov %r7, 4
        ja sum
eight:
        mov %r7, 8
sum:
        mov %r1, %r10
        add %r1, -8
        mov %r2, %r7
        mov %r3, %r10
        add %r3, -16
        mov %r4, 0
        mov %r5, 0
        call 28                     # bpf_csum_diff(fp-8, r7, fp-16, 0, 0)
        mov %r1, %r0
        and %r1, 7
        add %r1, %r6
        xor %r1, %r9
        rsh %r1, 1
        add %r1, %r8
        lsh %r1, 2
        mov %r0, %r1
        and %r0, 3
        exit
