# name: atomic_load_acquire
# category: atomic
# type: xdp
# description: a load-acquire from the stack
# verdict: accept
        stdw [%r10-8], 3
        .raw 0x00000100fff8a0db     # r0 = load_acquire((u64 *)(r10 - 8))
        exit
