# name: ctx_modified_pointer
# category: context
# type: xdp
# description: adds 4 to the context pointer and reads through it
# verdict: reject
# kernel-message: dereference of modified ctx ptr R1 off=4 disallowed
        add %r1, 4
        ldxw %r0, [%r1+0]

        mov %r0, 0
        exit
