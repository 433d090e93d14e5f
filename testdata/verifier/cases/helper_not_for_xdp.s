# name: helper_not_for_xdp
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: calls bpf_probe_read in an XDP program
# verdict: reject
# kernel-message: program of this type cannot use helper bpf_probe_read#4
        mov %r1, %r10
        add %r1, -8
        mov %r2, 8
        mov %r3, 0
        call 4                      # bpf_probe_read
        mov %r0, 0
        exit
