# name: map_value_direct_multi_entry
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=4
# description: direct value load from an array with 4 entries
# verdict: reject
# kernel-message: invalid access to map value pointer, value_size=16 off=0
        lddw %r1, map_value 0, 0
        ldxdw %r0, [%r1+0]
        exit
