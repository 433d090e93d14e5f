# name: map_value_direct_read_past_end
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=1
# description: direct value load with offset 8, then an 8-byte read at +8
# verdict: reject
# kernel-message: invalid access to map value, value_size=16 off=16 size=8
        lddw %r1, map_value 0, 8
        ldxdw %r0, [%r1+8]
        exit
