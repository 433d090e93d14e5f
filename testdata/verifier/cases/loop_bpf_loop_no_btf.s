# name: loop_bpf_loop_no_btf
# category: loop
# type: xdp
# func-info: no
# description: calls bpf_loop with a callback in a program loaded without BTF func_info
# verdict: reject
# kernel-message: missing btf func_info
        mov %r1, 10
        lddw %r2, func cb
        mov %r3, 0
        mov %r4, 0
        call 181                    # bpf_loop
        mov %r0, 0
        exit
cb:
        mov %r0, 0
        exit
