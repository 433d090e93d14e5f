# name: call_jump_into_subprog
# category: call
# type: xdp
# description: the main program jumps into the subprogram's body
# verdict: reject
# kernel-message: jump out of range from insn 1 to 5
        mov %r0, 0
        jeq %r1, 0, inside
        call local f
        exit
f:
        mov %r0, 1
inside:
        exit
