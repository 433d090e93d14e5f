# name: stack_misaligned_read
# category: stack
# type: xdp
# description: reads 4 bytes at r10-6 of initialized stack
# verdict: reject
# kernel-message: misaligned stack access off 0+0+-6 size 4
        stdw [%r10-8], 0
        ldxw %r0, [%r10-6]
        exit
