# name: stack_write_at_limit
# category: stack
# type: xdp
# description: writes the lowest 8 bytes of the 512-byte stack
# verdict: accept
        stdw [%r10-512], 1
        ldxdw %r0, [%r10-512]
        exit
