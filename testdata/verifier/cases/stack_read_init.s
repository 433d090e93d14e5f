# name: stack_read_init
# category: stack
# type: xdp
# description: writes and reads a stack slot
# verdict: accept
        stdw [%r10-8], 7
        ldxdw %r0, [%r10-8]
        exit
