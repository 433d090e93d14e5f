# name: call_pass_map_value
# category: call
# type: xdp
# map: hash key=4 value=8 entries=4
# description: passes a checked map value pointer to a subprogram that writes it
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        jeq %r0, 0, out

        mov %r1, %r0
        call local f

out:
        mov %r0, 0
        exit

f:
        stdw [%r1+0], 1
        mov %r0, 0
        exit
