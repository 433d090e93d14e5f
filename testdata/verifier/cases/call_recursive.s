# name: call_recursive
# category: call
# type: xdp
# description: a subprogram that calls itself
# verdict: reject
# kernel-message: the call stack of 8 frames is too deep !
        mov %r1, 3
        call local f
        exit
f:
        mov %r0, 0
        jeq %r1, 0, done
        sub %r1, 1
        call local f
done:
        exit
