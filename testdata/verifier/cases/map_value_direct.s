# name: map_value_direct
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=1
# description: reads a single-element array's value through a direct value load (lddw
# description: map_value)
# verdict: accept
        lddw %r1, map_value 0, 0
        ldxdw %r0, [%r1+8]
        exit
