# name: loop_too_many_iterations
# category: loop
# type: xdp
# description: a bounded loop of a million iterations: the verifier walks each
# verdict: reject
# kernel-message: BPF program is too large. Processed 1000001 insn
        mov %r0, 0
        mov %r1, 0
again:
        add %r1, 1
        jlt %r1, 1000000, again
        exit
