# name: loop_infinite_ja
# category: loop
# type: xdp
# description: jumps to itself
# verdict: reject
# kernel-message: infinite loop detected at insn 1
        mov %r0, 0
again:
        ja again
