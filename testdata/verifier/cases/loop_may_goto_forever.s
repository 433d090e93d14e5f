# name: loop_may_goto_forever
# category: loop
# type: xdp
# description: a loop whose only exit is may_goto: the kernel bounds it at run time
# verdict: accept
        mov %r0, 0
again:
        may_goto out
        add %r0, 1
        ja again
out:
        exit
