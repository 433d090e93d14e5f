# name: div_zero_dividend_known
# category: division
# type: xdp
# description: divides the constant 0 by an unknown value and dereferences the quotient
# description: if it is not 0 (safe only if the verifier knew that 0 / x is 0)
# verdict: reject
# kernel-message: R1 invalid mem access 'scalar'
        call 7                      # bpf_get_prandom_u32
        mov %r1, 0
        div %r1, %r0
        mov %r0, 2
        jeq %r1, 0, ok
        ldxdw %r0, [%r1+0]          # dead if the quotient is known
ok:
        exit
