# name: null_deref_checked
# category: null
# type: xdp
# map: hash key=4 value=8 entries=16
# description: dereferences the result of a hash map lookup after checking it for NULL
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1
        jeq %r0, 0, out
        ldxdw %r0, [%r0+0]
out:
        mov %r0, 0
        exit
