# name: jump_exit_reserved_fields
# category: jump
# type: xdp
# description: an exit with a non-zero immediate (reserved field)
# verdict: reject
# kernel-message: BPF_EXIT uses reserved fields
        mov %r0, 0
        .raw 0x0000000100000095
