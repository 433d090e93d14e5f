# name: jump_last_is_cond
# category: jump
# type: xdp
# description: the last instruction is a conditional jump (its fall-through leaves the
# description: program)
# verdict: reject
# kernel-message: last insn is not an exit or jmp
        mov %r0, 0
        jeq %r1, 0, start
start:
        exit
        jeq %r1, 0, start
