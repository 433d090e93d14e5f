# name: atomic_store_release_uninit_src
# category: atomic
# type: xdp
# description: a store-release of a register never written
# verdict: reject
# kernel-message: R3 !read_ok
        strelw [%r10-4], %r3
        mov %r0, 0
        exit
