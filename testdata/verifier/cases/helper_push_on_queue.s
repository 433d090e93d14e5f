# name: helper_push_on_queue
# category: helper
# type: xdp
# map: queue key=0 value=8 entries=4
# description: calls bpf_map_push_elem on a queue with a value on the stack
# verdict: accept
        stdw [%r10-8], 0
        lddw %r1, map_fd 0
        mov %r2, %r10
        add %r2, -8
        mov %r3, 0
        call 87                     # bpf_map_push_elem
        mov %r0, 0
        exit
