# name: helper_r6_after_call
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: reads r6 after a helper call: callee-saved
# verdict: accept
        mov %r6, 3
        call 5                      # bpf_ktime_get_ns
        mov %r0, %r6
        exit
