# name: call_args_no_btf
# category: call
# type: xdp
# func-info: no
# description: the same call in a program loaded without BTF func_info
# verdict: accept
        mov %r1, 1
        mov %r2, 2
        call local add
        exit
add:
        mov %r0, %r1
        add %r0, %r2
        exit
