# name: call_callee_saved_kept
# category: call
# type: xdp
# description: r6 to r9 keep their values across a call
# verdict: accept
        mov %r6, 7
        mov %r1, 1
        call local f
        mov %r0, %r6
        exit
f:
        mov %r6, 100                # the callee's own r6
        mov %r0, 0
        exit
