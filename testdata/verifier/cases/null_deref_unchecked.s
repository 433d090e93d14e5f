# name: null_deref_unchecked
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: dereferences the result of a hash map lookup without checking it for NULL
# verdict: reject
# kernel-message: R0 invalid mem access 'map_value_or_null'
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1
        ldxdw %r0, [%r0+0]
        exit
