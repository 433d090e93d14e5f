# name: call_args
# category: call
# type: xdp
# description: passes two arguments to a subprogram that adds them
# verdict: accept
        mov %r1, 1
        mov %r2, 2
        call local add
        exit
add:
        mov %r0, %r1
        add %r0, %r2
        exit
