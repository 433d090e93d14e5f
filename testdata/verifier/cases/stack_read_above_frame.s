# name: stack_read_above_frame
# category: stack
# type: xdp
# description: reads 8 bytes at r10+0, above the frame
# verdict: reject
# kernel-message: invalid read from stack R10 off=0 size=8
        stdw [%r10-8], 0
        ldxdw %r0, [%r10+0]
        exit
