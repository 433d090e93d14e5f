# One instruction of every kind that Validate accepts, in the bpf_conformance
# syntax with waggle's extensions. every_kind.llvm and every_kind.conf are its
# disassembly; regenerate them with: go test ./assembler -run Golden -update
entry:
    mov %r0, 0
    mov32 %r1, 0xffffffff
    mov %r2, %r1
    mov32 %r3, %r2
    movsx864 %r4, %r1
    movsx1664 %r4, %r1
    movsx3264 %r4, %r1
    movsx832 %r4, %r1
    movsx1632 %r4, %r1
    add %r1, 1
    add32 %r1, %r2
    sub %r1, -1
    sub32 %r1, %r2
    mul %r1, 3
    mul32 %r1, %r2
    div %r1, 3
    div32 %r1, %r2
    sdiv %r1, -3
    sdiv32 %r1, %r2
    mod %r1, 7
    mod32 %r1, %r2
    smod %r1, -7
    smod32 %r1, %r2
    or %r1, 0x10
    or32 %r1, %r2
    and %r1, 0xff
    and32 %r1, %r2
    xor %r1, 1
    xor32 %r1, %r2
    lsh %r1, 4
    lsh32 %r1, %r2
    rsh %r1, 4
    rsh32 %r1, %r2
    arsh %r1, 4
    arsh32 %r1, %r2
    neg %r1
    neg32 %r1
    le16 %r1
    le32 %r1
    le64 %r1
    be16 %r1
    be32 %r1
    be64 %r1
    bswap16 %r1
    bswap32 %r1
    bswap64 %r1
memory:
    stb [%r10-1], 1
    sth [%r10-2], 2
    stw [%r10-8], -1
    stdw [%r10-16], 0x7fffffff
    stxb [%r10-1], %r1
    stxh [%r10-2], %r1
    stxw [%r10-4], %r1
    stxdw [%r10-8], %r1
    ldxb %r2, [%r10-1]
    ldxh %r2, [%r10-2]
    ldxw %r2, [%r10-4]
    ldxdw %r2, [%r10-8]
    ldxsb %r2, [%r10-1]
    ldxsh %r2, [%r10-2]
    ldxsw %r2, [%r10-4]
    ldabsb 0
    ldabsh 2
    ldabsw 4
    ldindb %r1, 0
    ldindh %r1, -2
    ldindw %r1, 4
atomics:
    lock add [%r10-8], %r1
    lock or [%r10-8], %r1
    lock and [%r10-8], %r1
    lock xor [%r10-8], %r1
    lock fetch add [%r10-8], %r1
    lock fetch or [%r10-8], %r1
    lock fetch and [%r10-8], %r1
    lock fetch xor [%r10-8], %r1
    lock xchg [%r10-8], %r1
    lock cmpxchg [%r10-8], %r1
    lock add32 [%r10-4], %r1
    lock or32 [%r10-4], %r1
    lock and32 [%r10-4], %r1
    lock xor32 [%r10-4], %r1
    lock fetch add32 [%r10-4], %r1
    lock fetch or32 [%r10-4], %r1
    lock fetch and32 [%r10-4], %r1
    lock fetch xor32 [%r10-4], %r1
    lock xchg32 [%r10-4], %r1
    lock cmpxchg32 [%r10-4], %r1
constants:
    lddw %r1, 0x1122334455667788
    lddw %r1, -1
    lddw %r1, map_fd 3
    lddw %r1, map_value 3, 16
    lddw %r1, btf_id 42
    lddw %r1, func sub
    lddw %r1, map_idx 0
    lddw %r1, map_idx_value 1, 8
jumps:
    ja +0
    ja32 +0
    jeq %r1, 1, +0
    jeq %r1, %r2, +0
    jgt %r1, 1, +0
    jgt %r1, %r2, +0
    jge %r1, 1, +0
    jge %r1, %r2, +0
    jset %r1, 1, +0
    jset %r1, %r2, +0
    jne %r1, 1, +0
    jne %r1, %r2, +0
    jsgt %r1, -1, +0
    jsgt %r1, %r2, +0
    jsge %r1, -1, +0
    jsge %r1, %r2, +0
    jlt %r1, 1, +0
    jlt %r1, %r2, +0
    jle %r1, 1, +0
    jle %r1, %r2, +0
    jslt %r1, -1, +0
    jslt %r1, %r2, +0
    jsle %r1, -1, +0
    jsle %r1, %r2, +0
    jeq32 %r1, 1, +0
    jeq32 %r1, %r2, +0
    jgt32 %r1, 1, +0
    jgt32 %r1, %r2, +0
    jge32 %r1, 1, +0
    jge32 %r1, %r2, +0
    jset32 %r1, 1, +0
    jset32 %r1, %r2, +0
    jne32 %r1, 1, +0
    jne32 %r1, %r2, +0
    jsgt32 %r1, -1, +0
    jsgt32 %r1, %r2, +0
    jsge32 %r1, -1, +0
    jsge32 %r1, %r2, +0
    jlt32 %r1, 1, +0
    jlt32 %r1, %r2, +0
    jle32 %r1, 1, +0
    jle32 %r1, %r2, +0
    jslt32 %r1, -1, +0
    jslt32 %r1, %r2, +0
    jsle32 %r1, -1, +0
    jsle32 %r1, %r2, +0
    jne %r0, 0, entry
    ja32 memory
calls:
    call 1
    call runtime 7
    mov %r2, 1
    call %r2
    call local sub
    exit
sub:
    mov %r0, 1
    exit
