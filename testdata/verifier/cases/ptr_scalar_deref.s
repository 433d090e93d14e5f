# name: ptr_scalar_deref
# category: pointer
# type: xdp
# description: reads through an unknown scalar
# verdict: reject
# kernel-message: R0 invalid mem access 'scalar'
        call 5                      # bpf_ktime_get_ns
        ldxdw %r0, [%r0+0]
        exit
