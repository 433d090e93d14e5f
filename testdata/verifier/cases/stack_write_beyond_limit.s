# name: stack_write_beyond_limit
# category: stack
# type: xdp
# description: writes 8 bytes at r10-520, below the 512-byte stack
# verdict: reject
# kernel-message: invalid write to stack R10 off=-520 size=8
        stdw [%r10-520], 1
        mov %r0, 0
        exit
