# name: helper_unknown_id
# category: helper
# type: xdp
# map: hash key=4 value=8 entries=4
# description: calls helper 100000, which does not exist
# verdict: reject
# kernel-message: invalid func unknown#100000
        call 100000
        mov %r0, 0
        exit
