# name: helper_r1_after_call
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: reads r1 after a helper call, which clobbers r1 to r5
# verdict: reject
# kernel-message: R1 !read_ok
        mov %r6, %r1
        call 5                      # bpf_ktime_get_ns
        mov %r0, %r1
        exit
