# name: helper_get_comm_zero_size
# category: helper
# type: raw_tp
# description: calls bpf_get_current_comm with size 0 (ARG_CONST_SIZE does not allow 0)
# verdict: reject
# kernel-message: R2 invalid zero-sized read: u64=[0,0]
        mov %r1, %r10
        add %r1, -16
        mov %r2, 0
        call 16                     # bpf_get_current_comm
        mov %r0, 0
        exit
