# name: atomic_cmpxchg_r0_uninit
# category: atomic
# type: xdp
# description: compare-and-exchange on the stack with r0 never set
# verdict: reject
# kernel-message: R0 !read_ok
        stdw [%r10-8], 0
        mov %r1, 5
        lock cmpxchg [%r10-8], %r1
        mov %r0, 0
        exit
