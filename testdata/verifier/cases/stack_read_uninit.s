# name: stack_read_uninit
# category: stack
# type: xdp
# description: reads 8 bytes of stack that were never written
# verdict: accept
        ldxdw %r0, [%r10-8]
        exit
