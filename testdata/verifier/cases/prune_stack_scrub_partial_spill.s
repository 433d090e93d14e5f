# name: prune_stack_scrub_partial_spill
# category: stack
# type: xdp
# description: a store of data into a slot that holds a spilled register (here a 4-byte
# description: spill) turns every written byte of the slot into data, its known-zero bytes
# description: too (the kernel's scrub_spilled_slot): the byte at fp-4, zero before the
# description: spill, loads as any byte after the one-byte store at fp-7, so the branch
# description: that reads the uninitialized r5 is explored. A rule that kept the zero byte
# description: would prove that branch dead and accept; it also keeps checkpoints apart
# description: that the kernel's states match (bpf_lxc tail_ipv6_ct_ingress, at 386).
# verdict: reject
# kernel-message: R5 !read_ok
        stb [%r10-4], 0
        call 7                      # bpf_get_prandom_u32
        stxw [%r10-8], %r0
        stb [%r10-7], 1
        ldxb %r1, [%r10-4]
        jeq %r1, 0, out
        ldxdw %r0, [%r5+0]
out:
        mov %r0, 0
        exit
