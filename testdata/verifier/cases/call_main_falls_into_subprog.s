# name: call_main_falls_into_subprog
# category: call
# type: xdp
# description: the main program's last instruction is not an exit: it would run into
# description: the subprogram
# verdict: reject
# kernel-message: last insn is not an exit or jmp
        mov %r0, 0
        call local f
        mov %r0, 1
f:
        mov %r0, 0
        exit
