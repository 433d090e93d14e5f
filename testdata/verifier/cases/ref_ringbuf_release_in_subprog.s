# name: ref_ringbuf_release_in_subprog
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: a subprogram submits the record the main program reserved
# verdict: accept
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        mov %r1, %r0
        call local release

out:
        mov %r0, 0
        exit

release:
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit
        mov %r0, 0
        exit
