# name: helper_sleepable_bloom
# category: helper
# type: syscall
# map: bloom_filter key=0 value=8 entries=16
# description: a syscall program (sleepable) peeks into a bloom filter
# verdict: reject
# kernel-message: Sleepable programs can only use array, hash, ringbuf and local storage maps
        stdw [%r10-8], 0
        lddw %r1, map_fd 0
        mov %r2, %r10
        add %r2, -8
        call 89                     # bpf_map_peek_elem
        mov %r0, 0
        exit
