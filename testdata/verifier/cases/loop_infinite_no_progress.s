# name: loop_infinite_no_progress
# category: loop
# type: xdp
# description: loops on a counter that is reset in every iteration
# verdict: reject
# kernel-message: infinite loop detected at insn 1
        mov %r0, 0
again:
        mov %r1, 0
        add %r1, 1
        jlt %r1, 10, again
        exit
