# name: call_callee_reads_above_caller_frame
# category: call
# type: xdp
# description: the subprogram reads past the top of the caller's frame through a
# description: pointer argument
# verdict: reject
# kernel-message: invalid read from stack R1 off=0 size=8
        stdw [%r10-8], 9
        mov %r1, %r10
        add %r1, -8
        call local f
        exit
f:
        ldxdw %r0, [%r1+8]
        exit
