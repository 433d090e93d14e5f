# name: map_value_direct_offset
# category: map_value
# type: xdp
# map: array key=4 value=16 entries=1
# description: direct value load with offset 8 into a 16-byte value, then reads 8 bytes
# verdict: accept
        lddw %r1, map_value 0, 8
        ldxdw %r0, [%r1+0]
        exit
