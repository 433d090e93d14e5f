# name: ref_ringbuf_leak
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: reserves a record and returns without submitting or discarding it
# verdict: reject
# kernel-message: Unreleased reference id=2 alloc_insn=4
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        stdw [%r0+0], 1

out:
        mov %r0, 0
        exit
