# name: ctx_modified_pointer_back
# category: context
# type: xdp
# description: adds 4 to the context pointer and reads at -4 from it (offset 0 in
# description: total)
# verdict: reject
# kernel-message: dereference of modified ctx ptr R1 off=4 disallowed
        add %r1, 4
        ldxw %r0, [%r1-4]

        mov %r0, 0
        exit
