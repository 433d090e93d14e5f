# name: map_value_direct_hash
# category: map_value
# type: xdp
# map: hash key=4 value=16 entries=1
# description: direct value load from a hash map
# verdict: reject
# kernel-message: no direct value access support for this map type
        lddw %r1, map_value 0, 0
        mov %r0, 0
        exit
