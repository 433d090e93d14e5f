# name: ref_ringbuf_leak_on_one_path
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: submits the record on one branch only
# verdict: reject
# kernel-message: Unreleased reference id=2 alloc_insn=4
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        mov %r6, %r0
        call 7                      # bpf_get_prandom_u32
        jeq %r0, 0, out
        mov %r1, %r6
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit

out:
        mov %r0, 0
        exit
