# name: helper_sleepable_lpm
# category: helper
# type: syscall
# map: lpm_trie key=8 value=8 entries=16 flags=1
# description: a syscall program (sleepable) looks up an LPM trie
# verdict: reject
# kernel-message: Sleepable programs can only use array, hash, ringbuf and local storage maps
        stdw [%r10-8], 32
        mov %r2, %r10
        add %r2, -8
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem
        mov %r0, 0
        exit
