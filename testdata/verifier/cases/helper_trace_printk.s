# name: helper_trace_printk
# category: helper
# type: xdp
# description: calls bpf_trace_printk with a format string on the stack
# verdict: accept
        stdw [%r10-8], 0x0a6968     # "hi\n"
        mov %r1, %r10
        add %r1, -8
        mov %r2, 4
        call 6                      # bpf_trace_printk
        mov %r0, 0
        exit
