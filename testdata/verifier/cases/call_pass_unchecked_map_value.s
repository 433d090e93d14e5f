# name: call_pass_unchecked_map_value
# category: call
# type: xdp
# map: hash key=4 value=8 entries=4
# description: passes an unchecked lookup result to a subprogram that writes it
# verdict: reject
# kernel-message: R1 invalid mem access 'map_value_or_null'
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        mov %r1, %r0
        call local f
        mov %r0, 0
        exit
f:
        stdw [%r1+0], 1
        mov %r0, 0
        exit
