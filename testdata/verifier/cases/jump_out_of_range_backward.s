# name: jump_out_of_range_backward
# category: jump
# type: xdp
# description: jumps before the first instruction
# verdict: reject
# kernel-message: jump out of range from insn 1 to -1
        mov %r0, 0
        jeq %r1, 0, -3
        exit
