# name: ptr_null_deref
# category: pointer
# type: xdp
# description: reads through the constant 0
# verdict: reject
# kernel-message: R1 invalid mem access 'scalar'
        mov %r1, 0
        ldxdw %r0, [%r1+0]
        exit
