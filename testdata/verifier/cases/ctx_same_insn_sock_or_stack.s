# name: ctx_same_insn_sock_or_stack
# category: context
# type: tc
# description: one load reads bpf_sock.family through __sk_buff.sk on one path and the stack on the other
# verdict: reject
# kernel-message: same insn cannot be used with different pointers
        stdw [%r10-8], 0
        mov %r3, %r10
        add %r3, -8
        ldxdw %r2, [%r1+168]        # sk
        jeq %r2, 0, use
        mov %r3, %r2
use:
        ldxw %r0, [%r3+4]
        mov %r0, 0
        exit
