# name: stack_byte_any_offset
# category: stack
# type: xdp
# description: writes and reads a byte at r10-7
# verdict: accept
        stb [%r10-7], 1
        ldxb %r0, [%r10-7]
        exit
