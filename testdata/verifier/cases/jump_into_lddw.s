# name: jump_into_lddw
# category: jump
# type: xdp
# description: jumps to the second slot of an lddw
# verdict: reject
# kernel-message: jump into the middle of ldimm64 insn 2
        mov %r0, 0
        jeq %r1, 0, +1
        lddw %r0, 0x100000000
        exit
