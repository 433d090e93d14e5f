# name: jump_fall_off_end
# category: jump
# type: xdp
# description: the last instruction is not an exit or a jump
# verdict: reject
# kernel-message: last insn is not an exit or jmp
        mov %r0, 0
        exit
more:
        mov %r0, 1
