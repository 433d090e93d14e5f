# name: atomic_store_release_packet
# category: atomic
# type: xdp
# description: a store-release into the packet after a bounds check (not allowed
# description: through the packet)
# verdict: reject
# kernel-message: misaligned packet access off 2+0+0+0 size 4
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        mov %r4, %r2
        add %r4, 8
        jgt %r4, %r3, out
        mov %r5, 7
        strelw [%r2+0], %r5
out:
        mov %r0, 0
        exit
