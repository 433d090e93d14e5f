# name: helper_sleepable_hash
# category: helper
# type: syscall
# map: hash key=4 value=8 entries=4
# description: a syscall program (sleepable) looks up a hash map
# verdict: accept
        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 0
        call 1                      # bpf_map_lookup_elem

        mov %r0, 0
        exit
