# name: stack_read_uninit_below_written
# category: stack
# type: xdp
# description: writes [r10-16] and reads [r10-8], which was never written
# verdict: accept
        stdw [%r10-16], 0
        ldxdw %r0, [%r10-8]
        exit
