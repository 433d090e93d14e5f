# name: loop_infinite_never_exits
# category: loop
# type: xdp
# description: increments a counter in a loop whose exit compares another register
# verdict: reject
# kernel-message: BPF program is too large. Processed 1000001 insn
        mov %r0, 0
        mov %r2, 5
again:
        add %r0, 1
        jne %r2, 6, again
        exit
