# name: jump_out_of_range_forward
# category: jump
# type: xdp
# description: jumps past the end of the program
# verdict: reject
# kernel-message: jump out of range from insn 1 to 7
        mov %r0, 0
        jeq %r1, 0, +5
        exit
