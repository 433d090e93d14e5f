# name: loop_may_goto_uninit
# category: loop
# type: xdp
# description: r3 is written only in the loop's body; may_goto may leave the loop
# description: before the first iteration, and r3 is read after it
# verdict: reject
# kernel-message: R3 !read_ok
        mov %r0, 0
again:
        may_goto out
        mov %r3, 1
        ja again
out:
        mov %r0, %r3
        exit
