# name: jump_load_into_r10
# category: jump
# type: xdp
# description: loads into the frame pointer
# verdict: reject
# kernel-message: frame pointer is read only
        stdw [%r10-8], 0
        ldxdw %r10, [%r10-8]
        mov %r0, 0
        exit
