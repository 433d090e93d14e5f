# name: map_value_direct_past_end
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=1
# description: direct value load with offset 16 into a 16-byte value
# verdict: reject
# kernel-message: invalid access to map value pointer, value_size=16 off=16
        lddw %r1, map_value 0, 16
        mov %r0, 0
        exit
