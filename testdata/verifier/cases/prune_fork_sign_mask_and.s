# name: prune_fork_sign_mask_and
# category: bounds
# type: xdp
# description: compilers turn "x < 0 ? -134 : 0" into (x s>> 31) & -134; the verifier
# description: explores the results 0 and -134 separately (the kernel's maybe_fork_scalars),
# description: so it knows that a negative result is -134 and never -136: the read through
# description: r7, a number, is never reached (with one range, 0 to 0xffffff7a, it would be)
# verdict: accept
        call 7                      # bpf_get_prandom_u32
        mov32 %r2, %r0
        arsh32 %r2, 31
        and32 %r2, -134
        jsgt32 %r2, -1, out
        jne32 %r2, -136, out
        mov %r7, 0
        ldxb %r0, [%r7+0]
out:
        mov %r0, 0
        exit
