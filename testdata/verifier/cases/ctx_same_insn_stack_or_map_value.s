# name: ctx_same_insn_stack_or_map_value
# category: context
# type: xdp
# map: array key=4 value=16 entries=1
# description: one load reads through the stack on one path and a map value on the other, which need no rewriting
# verdict: accept
        stdw [%r10-8], 0
        stdw [%r10-16], 0
        stw [%r10-20], 0
        mov %r6, %r10
        add %r6, -16
        lddw %r1, map_fd 0
        mov %r2, %r10
        add %r2, -20
        call 1
        jeq %r0, 0, use
        mov %r6, %r0
use:
        ldxdw %r0, [%r6+8]
        mov %r0, 2
        exit
