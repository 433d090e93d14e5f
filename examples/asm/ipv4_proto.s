# Returns the IP protocol number of an Ethernet/IPv4 frame (6 for TCP,
# 17 for UDP), or -1 when the frame is too short or not IPv4.
#   r1 = address of the frame, r2 = its length.
# Run it:  waggle run --data-in examples/asm/packet.bin examples/asm/ipv4_proto.s
        mov %r0, -1
        jlt %r2, 34, done          # 14 bytes of Ethernet + 20 of IPv4
        ldxh %r3, [%r1+12]         # EtherType, network byte order
        be16 %r3
        jne %r3, 0x0800, done
        ldxb %r0, [%r1+23]         # IPv4 protocol
done:
        exit
