# A may_goto loop whose iterations never converge: r1 counts up and r0
# sums it, and the comparison with 1000 makes r0 (and so r1) precise, so
# no iteration's state covers the next. The kernel processes 1,000,001
# instructions and refuses it, with at most 65 checkpoints at the
# may_goto (its eviction of a loop checkpoint that missed 64 times as
# often as it hit).
        mov %r0, 0
        mov %r1, 0
l:      jge %r0, 1000, +0
        may_goto out
        add %r0, %r1
        add %r1, 1
        ja l
out:    exit
