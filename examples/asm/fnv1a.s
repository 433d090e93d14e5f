# 32-bit FNV-1a hash of the program's memory.
#   r1 = address of the memory, r2 = its length; the hash is returned in r0.
# Run it:  waggle run --data-in examples/asm/packet.bin examples/asm/fnv1a.s
        mov32 %r0, 0x811c9dc5      # FNV offset basis
        jeq %r2, 0, done
loop:
        ldxb %r3, [%r1]
        xor32 %r0, %r3
        mul32 %r0, 16777619        # FNV prime
        add %r1, 1
        sub %r2, 1
        jne %r2, 0, loop
done:
        exit
