# name: ref_ringbuf_write_past_size
# category: reference
# type: xdp
# map: ringbuf entries=4096
# description: writes 8 bytes at offset 8 of an 8-byte record
# verdict: reject
# kernel-message: invalid access to memory, mem_size=8 off=8 size=8
        lddw %r1, map_fd 0
        mov %r2, 8
        mov %r3, 0
        call 131                    # bpf_ringbuf_reserve

        jeq %r0, 0, out
        stdw [%r0+8], 1
        mov %r1, %r0
        mov %r2, 0
        call 132                    # bpf_ringbuf_submit

out:
        mov %r0, 0
        exit
