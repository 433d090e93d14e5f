# name: call_out_of_range
# category: call
# type: xdp
# description: calls a target past the end of the program
# verdict: reject
# kernel-message: call to invalid destination
        call local +5
        mov %r0, 0
        exit
