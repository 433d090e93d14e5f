# name: ptr_add_ptr
# category: pointer
# type: xdp
# description: adds two pointers
# verdict: reject
# kernel-message: R2 pointer += pointer prohibited
        mov %r2, %r10
        add %r2, %r1

        mov %r0, 0
        exit
