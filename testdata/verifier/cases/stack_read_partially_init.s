# name: stack_read_partially_init
# category: stack
# type: xdp
# description: writes 4 bytes of a slot and reads all 8
# verdict: accept
        stw [%r10-8], 0
        ldxdw %r0, [%r10-8]
        exit
