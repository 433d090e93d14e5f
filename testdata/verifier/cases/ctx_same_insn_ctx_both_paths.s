# name: ctx_same_insn_ctx_both_paths
# category: context
# type: xdp
# description: one load reads the context through different copies of it on two paths
# verdict: accept
        ldxw %r2, [%r1+12]          # ingress_ifindex
        mov %r3, %r1
        jeq %r2, 0, use
        mov %r4, %r1
        mov %r3, %r4
use:
        ldxw %r0, [%r3+16]          # rx_queue_index
        mov %r0, 2
        exit
