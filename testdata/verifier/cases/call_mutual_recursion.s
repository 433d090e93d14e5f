# name: call_mutual_recursion
# category: call
# type: xdp
# description: two subprograms that call each other
# verdict: reject
# kernel-message: the call stack of 9 frames is too deep
        call local f
        exit
f:
        call local g
        exit
g:
        call local f
        exit
