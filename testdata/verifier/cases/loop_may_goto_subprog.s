# name: loop_may_goto_subprog
# category: loop
# type: xdp
# description: a may_goto loop in a bpf-to-bpf function
# verdict: accept
        call local fn
        exit
fn:
        mov %r0, 0
again:
        may_goto out
        add %r0, 1
        ja again
out:
        exit
