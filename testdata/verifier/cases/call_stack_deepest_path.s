# name: call_stack_deepest_path
# category: call
# type: xdp
# description: main calls two subprograms of 256 and 304 bytes one after the other;
# description: only the deepest chain counts: 8 + 304 (+ 256 would be too much)
# verdict: accept
        stdw [%r10-8], 0
        call local f
        call local g
        exit
f:
        stdw [%r10-256], 0
        mov %r0, 0
        exit
g:
        stdw [%r10-304], 0
        mov %r0, 0
        exit
