# name: jump_unreachable_insn
# category: jump
# type: xdp
# description: has an instruction after the exit that nothing jumps to
# verdict: reject
# kernel-message: unreachable insn 2
        mov %r0, 0
        exit
        mov %r0, 1
        exit
