# name: tail_call_holding_lock
# category: tail_call
# type: xdp
# map: prog_array key=4 value=4 entries=4
# map: array key=4 value=16 entries=1 lock=0
# description: tail-calls while holding a spin lock
# verdict: reject
# kernel-message: function calls are not allowed while holding a lock
        mov %r9, %r1

        stw [%r10-4], 0
        mov %r2, %r10
        add %r2, -4
        lddw %r1, map_fd 1
        call 1                      # bpf_map_lookup_elem

        jeq %r0, 0, out
        mov %r6, %r0
        mov %r1, %r6
        call 93                     # bpf_spin_lock
        mov %r1, %r9
        lddw %r2, map_fd 0
        mov %r3, 0
        call 12                     # bpf_tail_call
        mov %r1, %r6
        call 94                     # bpf_spin_unlock
out:
        mov %r0, 2
        exit
