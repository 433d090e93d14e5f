package isa

import (
	"strings"
	"testing"
)

// in builds an instruction from its fields.
func in(op uint8, dst, src Register, off int16, imm int64) Instruction {
	return Instruction{Opcode: op, Dst: dst, Src: src, Offset: off, Imm: imm}
}

// formatTests lists one instruction of every kind with its text in both
// syntaxes.
var formatTests = []struct {
	ins        Instruction
	llvm, conf string
}{
	// ALU64, immediate source.
	{in(0x07, 1, 0, 0, 5), "r1 += 0x5", "add %r1, 5"},
	{in(0x17, 1, 0, 0, -1), "r1 -= -0x1", "sub %r1, -1"},
	{in(0x27, 1, 0, 0, 5), "r1 *= 0x5", "mul %r1, 5"},
	{in(0x37, 1, 0, 0, 5), "r1 /= 0x5", "div %r1, 5"},
	{in(0x37, 1, 0, 1, 5), "r1 s/= 0x5", "sdiv %r1, 5"},
	{in(0x47, 1, 0, 0, 5), "r1 |= 0x5", "or %r1, 5"},
	{in(0x57, 1, 0, 0, 0xff), "r1 &= 0xff", "and %r1, 255"},
	{in(0x67, 1, 0, 0, 3), "r1 <<= 0x3", "lsh %r1, 3"},
	{in(0x77, 1, 0, 0, 3), "r1 >>= 0x3", "rsh %r1, 3"},
	{in(0x87, 1, 0, 0, 0), "r1 = -r1", "neg %r1"},
	{in(0x97, 1, 0, 0, 7), "r1 %= 0x7", "mod %r1, 7"},
	{in(0x97, 1, 0, 1, -7), "r1 s%= -0x7", "smod %r1, -7"},
	{in(0xa7, 1, 0, 0, 5), "r1 ^= 0x5", "xor %r1, 5"},
	{in(0xb7, 0, 0, 0, 1), "r0 = 0x1", "mov %r0, 1"},
	{in(0xb7, 0, 0, 0, 0x12345678), "r0 = 0x12345678", "mov %r0, 0x12345678"},
	{in(0xb7, 0, 0, 0, -0x80000000), "r0 = -0x80000000", "mov %r0, 0x80000000"},
	{in(0xb7, 0, 0, 0, -0x10000), "r0 = -0x10000", "mov %r0, 0xffff0000"},
	{in(0xb7, 0, 0, 0, -0xffff), "r0 = -0xffff", "mov %r0, -65535"},
	{in(0xc7, 1, 0, 0, 63), "r1 s>>= 0x3f", "arsh %r1, 63"},
	{in(0xd7, 1, 0, 0, 16), "r1 = bswap16 r1", "bswap16 %r1"},
	{in(0xd7, 1, 0, 0, 32), "r1 = bswap32 r1", "bswap32 %r1"},
	{in(0xd7, 1, 0, 0, 64), "r1 = bswap64 r1", "bswap64 %r1"},
	// ALU64, register source.
	{in(0x0f, 1, 2, 0, 0), "r1 += r2", "add %r1, %r2"},
	{in(0x1f, 1, 2, 0, 0), "r1 -= r2", "sub %r1, %r2"},
	{in(0x2f, 1, 2, 0, 0), "r1 *= r2", "mul %r1, %r2"},
	{in(0x3f, 1, 2, 0, 0), "r1 /= r2", "div %r1, %r2"},
	{in(0x3f, 1, 2, 1, 0), "r1 s/= r2", "sdiv %r1, %r2"},
	{in(0x4f, 1, 2, 0, 0), "r1 |= r2", "or %r1, %r2"},
	{in(0x5f, 1, 2, 0, 0), "r1 &= r2", "and %r1, %r2"},
	{in(0x6f, 1, 2, 0, 0), "r1 <<= r2", "lsh %r1, %r2"},
	{in(0x7f, 1, 2, 0, 0), "r1 >>= r2", "rsh %r1, %r2"},
	{in(0x9f, 1, 2, 0, 0), "r1 %= r2", "mod %r1, %r2"},
	{in(0x9f, 1, 2, 1, 0), "r1 s%= r2", "smod %r1, %r2"},
	{in(0xaf, 1, 2, 0, 0), "r1 ^= r2", "xor %r1, %r2"},
	{in(0xbf, 0, 1, 0, 0), "r0 = r1", "mov %r0, %r1"},
	{in(0xbf, 0, 1, 8, 0), "r0 = (s8)r1", "movsx864 %r0, %r1"},
	{in(0xbf, 0, 1, 16, 0), "r0 = (s16)r1", "movsx1664 %r0, %r1"},
	{in(0xbf, 0, 1, 32, 0), "r0 = (s32)r1", "movsx3264 %r0, %r1"},
	{in(0xcf, 1, 2, 0, 0), "r1 s>>= r2", "arsh %r1, %r2"},
	// ALU32.
	{in(0x04, 1, 0, 0, 5), "w1 += 0x5", "add32 %r1, 5"},
	{in(0xb4, 0, 0, 0, 1), "w0 = 0x1", "mov32 %r0, 1"},
	{in(0xb4, 0, 0, 0, -1), "w0 = -0x1", "mov32 %r0, -1"},
	{in(0x84, 1, 0, 0, 0), "w1 = -w1", "neg32 %r1"},
	{in(0x94, 0, 0, 1, 3), "w0 s%= 0x3", "smod32 %r0, 3"},
	{in(0x0c, 0, 1, 0, 0), "w0 += w1", "add32 %r0, %r1"},
	{in(0x3c, 0, 1, 1, 0), "w0 s/= w1", "sdiv32 %r0, %r1"},
	{in(0xbc, 0, 1, 0, 0), "w0 = w1", "mov32 %r0, %r1"},
	{in(0xbc, 0, 1, 8, 0), "w0 = (s8)w1", "movsx832 %r0, %r1"},
	{in(0xbc, 0, 1, 16, 0), "w0 = (s16)w1", "movsx1632 %r0, %r1"},
	{in(0xd4, 1, 0, 0, 16), "r1 = le16 r1", "le16 %r1"},
	{in(0xd4, 1, 0, 0, 32), "r1 = le32 r1", "le32 %r1"},
	{in(0xd4, 1, 0, 0, 64), "r1 = le64 r1", "le64 %r1"},
	{in(0xdc, 1, 0, 0, 16), "r1 = be16 r1", "be16 %r1"},
	{in(0xdc, 1, 0, 0, 64), "r1 = be64 r1", "be64 %r1"},
	// Jumps.
	{in(0x05, 0, 0, 2, 0), "goto +2", "ja +2"},
	{in(0x05, 0, 0, -1, 0), "goto -1", "ja -1"},
	{in(0x05, 0, 0, 0, 0), "goto +0", "ja +0"},
	{in(0x06, 0, 0, 0, 5), "gotol +5", "ja32 +5"},
	{in(0x06, 0, 0, 0, -70000), "gotol -70000", "ja32 -70000"},
	{in(0x15, 1, 0, 3, 5), "if r1 == 0x5 goto +3", "jeq %r1, 5, +3"},
	{in(0x1d, 1, 2, 3, 0), "if r1 == r2 goto +3", "jeq %r1, %r2, +3"},
	{in(0x25, 1, 0, 3, 5), "if r1 > 0x5 goto +3", "jgt %r1, 5, +3"},
	{in(0x2d, 1, 2, 3, 0), "if r1 > r2 goto +3", "jgt %r1, %r2, +3"},
	{in(0x35, 1, 0, 3, 5), "if r1 >= 0x5 goto +3", "jge %r1, 5, +3"},
	{in(0x45, 1, 0, 1, 1), "if r1 & 0x1 goto +1", "jset %r1, 1, +1"},
	{in(0x55, 1, 0, -4, -1), "if r1 != -0x1 goto -4", "jne %r1, -1, -4"},
	{in(0x65, 1, 0, 3, 5), "if r1 s> 0x5 goto +3", "jsgt %r1, 5, +3"},
	{in(0x75, 1, 0, 3, 5), "if r1 s>= 0x5 goto +3", "jsge %r1, 5, +3"},
	{in(0xa5, 1, 0, 3, 5), "if r1 < 0x5 goto +3", "jlt %r1, 5, +3"},
	{in(0xb5, 1, 0, 3, 5), "if r1 <= 0x5 goto +3", "jle %r1, 5, +3"},
	{in(0xc5, 1, 0, 3, 5), "if r1 s< 0x5 goto +3", "jslt %r1, 5, +3"},
	{in(0xd5, 1, 0, 3, 5), "if r1 s<= 0x5 goto +3", "jsle %r1, 5, +3"},
	{in(0x16, 1, 0, 3, 5), "if w1 == 0x5 goto +3", "jeq32 %r1, 5, +3"},
	{in(0xce, 1, 2, -2, 0), "if w1 s< w2 goto -2", "jslt32 %r1, %r2, -2"},
	{in(0x4e, 1, 2, 1, 0), "if w1 & w2 goto +1", "jset32 %r1, %r2, +1"},
	// Calls and exit.
	{in(0x85, 0, 0, 0, 5), "call 0x5", "call 5"},
	{in(0x85, 0, 0, 0, -1), "call -0x1", "call -1"},
	{in(0x85, 0, 1, 0, 3), "call +3", "call local +3"},
	{in(0x85, 0, 1, 0, -3), "call -3", "call local -3"},
	{in(0x85, 0, 2, 0, 7), "call kfunc 0x7", "call runtime 7"},
	{in(0x8d, 2, 0, 0, 0), "callx r2", "call %r2"},
	{in(0x95, 0, 0, 0, 0), "exit", "exit"},
	// 64-bit immediate loads.
	{in(0x18, 0, 0, 0, 0x1122334455667788), "r0 = 0x1122334455667788 ll", "lddw %r0, 0x1122334455667788"},
	{in(0x18, 0, 0, 0, -1), "r0 = -0x1 ll", "lddw %r0, -1"},
	{in(0x18, 9, 0, 0, 0x7fffffff), "r9 = 0x7fffffff ll", "lddw %r9, 0x7fffffff"},
	{in(0x18, 0, 0, 0, -0x8000000000000000), "r0 = -0x8000000000000000 ll", "lddw %r0, 0x8000000000000000"},
	{in(0x18, 1, 1, 0, 3), "r1 = map[fd:3] ll", "lddw %r1, map_fd 3"},
	{in(0x18, 1, 1, 0, 5<<32|3), "r1 = ld_pseudo(1, 0x500000003) ll", "lddw %r1, map_fd 3, 5"},
	{in(0x18, 1, 2, 0, 16<<32|3), "r1 = map[fd:3][0]+16 ll", "lddw %r1, map_value 3, 16"},
	{in(0x18, 1, 2, 0, 3), "r1 = map[fd:3][0]+0 ll", "lddw %r1, map_value 3, 0"},
	{in(0x18, 1, 3, 0, 5), "r1 = btf_id[5] ll", "lddw %r1, btf_id 5"},
	{in(0x18, 1, 4, 0, 3), "r1 = func[+3] ll", "lddw %r1, func +3"},
	{in(0x18, 1, 4, 0, 0xfffffffc), "r1 = func[-4] ll", "lddw %r1, func -4"},
	{in(0x18, 1, 5, 0, 0), "r1 = map[idx:0] ll", "lddw %r1, map_idx 0"},
	{in(0x18, 1, 5, 0, 0xffffffff), "r1 = map[idx:4294967295] ll", "lddw %r1, map_idx 4294967295"},
	{in(0x18, 1, 6, 0, 16<<32|1), "r1 = map[idx:1][0]+16 ll", "lddw %r1, map_idx_value 1, 16"},
	// Legacy packet loads.
	{in(0x30, 0, 0, 0, 3), "r0 = *(u8 *)skb[0x3]", "ldabsb 3"},
	{in(0x28, 0, 0, 0, 3), "r0 = *(u16 *)skb[0x3]", "ldabsh 3"},
	{in(0x20, 0, 0, 0, 3), "r0 = *(u32 *)skb[0x3]", "ldabsw 3"},
	{in(0x50, 0, 1, 0, 3), "r0 = *(u8 *)skb[r1 + 0x3]", "ldindb %r1, 3"},
	{in(0x48, 0, 1, 0, 0), "r0 = *(u16 *)skb[r1]", "ldindh %r1, 0"},
	{in(0x40, 0, 1, 0, -2), "r0 = *(u32 *)skb[r1 - 0x2]", "ldindw %r1, -2"},
	// Loads.
	{in(0x71, 0, 1, 0, 0), "r0 = *(u8 *)(r1 + 0x0)", "ldxb %r0, [%r1]"},
	{in(0x69, 0, 1, 2, 0), "r0 = *(u16 *)(r1 + 0x2)", "ldxh %r0, [%r1+2]"},
	{in(0x61, 0, 1, 4, 0), "r0 = *(u32 *)(r1 + 0x4)", "ldxw %r0, [%r1+4]"},
	{in(0x79, 1, 10, -8, 0), "r1 = *(u64 *)(r10 - 0x8)", "ldxdw %r1, [%r10-8]"},
	{in(0x79, 1, 10, -32768, 0), "r1 = *(u64 *)(r10 - 0x8000)", "ldxdw %r1, [%r10-32768]"},
	{in(0x91, 0, 1, 0, 0), "r0 = *(s8 *)(r1 + 0x0)", "ldxsb %r0, [%r1]"},
	{in(0x89, 0, 1, 2, 0), "r0 = *(s16 *)(r1 + 0x2)", "ldxsh %r0, [%r1+2]"},
	{in(0x81, 0, 1, 4, 0), "r0 = *(s32 *)(r1 + 0x4)", "ldxsw %r0, [%r1+4]"},
	// Stores.
	{in(0x72, 10, 0, -1, 1), "*(u8 *)(r10 - 0x1) = 0x1", "stb [%r10-1], 1"},
	{in(0x6a, 10, 0, -2, 2), "*(u16 *)(r10 - 0x2) = 0x2", "sth [%r10-2], 2"},
	{in(0x62, 10, 0, -4, 5), "*(u32 *)(r10 - 0x4) = 0x5", "stw [%r10-4], 5"},
	{in(0x7a, 10, 0, -8, -1), "*(u64 *)(r10 - 0x8) = -0x1", "stdw [%r10-8], -1"},
	{in(0x73, 10, 1, -1, 0), "*(u8 *)(r10 - 0x1) = r1", "stxb [%r10-1], %r1"},
	{in(0x6b, 10, 1, -2, 0), "*(u16 *)(r10 - 0x2) = r1", "stxh [%r10-2], %r1"},
	{in(0x63, 10, 1, -4, 0), "*(u32 *)(r10 - 0x4) = r1", "stxw [%r10-4], %r1"},
	{in(0x7b, 10, 1, -8, 0), "*(u64 *)(r10 - 0x8) = r1", "stxdw [%r10-8], %r1"},
	{in(0x7b, 1, 2, 16, 0), "*(u64 *)(r1 + 0x10) = r2", "stxdw [%r1+16], %r2"},
	// Atomics.
	{in(0xdb, 10, 1, -8, 0x00), "lock *(u64 *)(r10 - 0x8) += r1", "lock add [%r10-8], %r1"},
	{in(0xdb, 10, 1, -8, 0x40), "lock *(u64 *)(r10 - 0x8) |= r1", "lock or [%r10-8], %r1"},
	{in(0xdb, 10, 1, -8, 0x50), "lock *(u64 *)(r10 - 0x8) &= r1", "lock and [%r10-8], %r1"},
	{in(0xdb, 10, 1, -8, 0xa0), "lock *(u64 *)(r10 - 0x8) ^= r1", "lock xor [%r10-8], %r1"},
	{in(0xdb, 10, 1, -8, 0x01), "r1 = atomic_fetch_add((u64 *)(r10 - 0x8), r1)", "lock fetch add [%r10-8], %r1"},
	{in(0xdb, 10, 1, -8, 0x41), "r1 = atomic_fetch_or((u64 *)(r10 - 0x8), r1)", "lock fetch or [%r10-8], %r1"},
	{in(0xdb, 10, 1, -8, 0x51), "r1 = atomic_fetch_and((u64 *)(r10 - 0x8), r1)", "lock fetch and [%r10-8], %r1"},
	{in(0xdb, 10, 1, -8, 0xa1), "r1 = atomic_fetch_xor((u64 *)(r10 - 0x8), r1)", "lock fetch xor [%r10-8], %r1"},
	{in(0xdb, 10, 1, -8, 0xe1), "r1 = xchg_64(r10 - 0x8, r1)", "lock xchg [%r10-8], %r1"},
	{in(0xdb, 10, 1, -8, 0xf1), "r0 = cmpxchg_64(r10 - 0x8, r0, r1)", "lock cmpxchg [%r10-8], %r1"},
	{in(0xc3, 10, 1, -4, 0x00), "lock *(u32 *)(r10 - 0x4) += w1", "lock add32 [%r10-4], %r1"},
	{in(0xc3, 10, 1, -4, 0xa0), "lock *(u32 *)(r10 - 0x4) ^= w1", "lock xor32 [%r10-4], %r1"},
	{in(0xc3, 10, 1, -4, 0x01), "w1 = atomic_fetch_add((u32 *)(r10 - 0x4), w1)", "lock fetch add32 [%r10-4], %r1"},
	{in(0xc3, 10, 1, -4, 0x51), "w1 = atomic_fetch_and((u32 *)(r10 - 0x4), w1)", "lock fetch and32 [%r10-4], %r1"},
	{in(0xc3, 10, 1, -4, 0xe1), "w1 = xchg32_32(r10 - 0x4, w1)", "lock xchg32 [%r10-4], %r1"},
	{in(0xc3, 10, 1, -4, 0xf1), "w0 = cmpxchg32_32(r10 - 0x4, w0, w1)", "lock cmpxchg32 [%r10-4], %r1"},
	{in(0xdb, 0, 1, 0, 0x100), "r0 = load_acquire((u64 *)(r1 + 0x0))", "ldacqdw %r0, [%r1]"},
	{in(0xe5, 0, 0, 2, 0), "may_goto +2", "may_goto +2"},
	{in(0xe5, 0, 0, -3, 0), "may_goto -3", "may_goto -3"},
	{in(0xe5, 0, 0, 0, 0), "may_goto +0", "may_goto +0"},
	{in(0xe5, 0, 1, 2, 0), ".invalid 0x00000000000210e5", ".invalid 0x00000000000210e5"},
	{in(0xe5, 0, 0, 2, 1), ".invalid 0x00000001000200e5", ".invalid 0x00000001000200e5"},
	{in(0xed, 0, 0, 2, 0), ".invalid 0x00000000000200ed", ".invalid 0x00000000000200ed"},
	{in(0xe6, 0, 0, 2, 0), ".invalid 0x00000000000200e6", ".invalid 0x00000000000200e6"},
	{in(0xc3, 2, 10, -4, 0x100), "w2 = load_acquire((u32 *)(r10 - 0x4))", "ldacqw %r2, [%r10-4]"},
	{in(0xcb, 3, 1, 6, 0x100), "w3 = load_acquire((u16 *)(r1 + 0x6))", "ldacqh %r3, [%r1+6]"},
	{in(0xd3, 0, 10, -1, 0x100), "w0 = load_acquire((u8 *)(r10 - 0x1))", "ldacqb %r0, [%r10-1]"},
	{in(0xdb, 1, 2, 8, 0x110), "store_release((u64 *)(r1 + 0x8), r2)", "streldw [%r1+8], %r2"},
	{in(0xc3, 10, 2, -4, 0x110), "store_release((u32 *)(r10 - 0x4), w2)", "strelw [%r10-4], %r2"},
	{in(0xcb, 1, 2, 0, 0x110), "store_release((u16 *)(r1 + 0x0), w2)", "strelh [%r1], %r2"},
	{in(0xd3, 10, 5, -1, 0x110), "store_release((u8 *)(r10 - 0x1), w5)", "strelb [%r10-1], %r5"},
	// A field that the operation does not use is set: the kernel rejects
	// these ("uses reserved fields"), and so does Validate.
	{in(0x07, 1, 2, 0, 5), ".invalid 0x0000000500002107", ".invalid 0x0000000500002107"},
	{in(0x0f, 1, 2, 0, 5), ".invalid 0x000000050000210f", ".invalid 0x000000050000210f"},
	{in(0x95, 1, 0, 0, 0), ".invalid 0x0000000000000195", ".invalid 0x0000000000000195"},
	{in(0x9d, 0, 0, 0, 0), ".invalid 0x000000000000009d", ".invalid 0x000000000000009d"},
	{in(0x18, 1, 0, 7, 1), ".invalid 0x0000000100070118, 0x0000000000000000", ".invalid 0x0000000100070118, 0x0000000000000000"},
	// Invalid.
	{in(0xff, 0, 0, 0, 0), ".invalid 0x00000000000000ff", ".invalid 0x00000000000000ff"},
	{in(0x07, 11, 0, 0, 0), ".invalid 0x0000000000000b07", ".invalid 0x0000000000000b07"},
	{in(0x18, 10, 0, 0, 1), ".invalid 0x0000000100000a18, 0x0000000000000000", ".invalid 0x0000000100000a18, 0x0000000000000000"},
	{in(0xd7, 1, 0, 0, 8), ".invalid 0x00000008000001d7", ".invalid 0x00000008000001d7"},
	{in(0x96, 0, 0, 0, 0), ".invalid 0x0000000000000096", ".invalid 0x0000000000000096"},
	{in(0xdb, 10, 1, -8, 0x10), ".invalid 0x00000010fff81adb", ".invalid 0x00000010fff81adb"},
}

func TestFormat(t *testing.T) {
	for _, tt := range formatTests {
		if got := tt.ins.Format(SyntaxLLVM); got != tt.llvm {
			t.Errorf("%#v.Format(SyntaxLLVM) = %q, want %q", tt.ins, got, tt.llvm)
		}
		if got := tt.ins.String(); got != tt.llvm {
			t.Errorf("%#v.String() = %q, want %q", tt.ins, got, tt.llvm)
		}
		if got := tt.ins.Format(SyntaxConformance); got != tt.conf {
			t.Errorf("%#v.Format(SyntaxConformance) = %q, want %q", tt.ins, got, tt.conf)
		}
	}
}

// TestFormatEveryOpcode formats every opcode with assorted fields: none may
// panic, and those that Validate rejects must print as .invalid.
func TestFormatEveryOpcode(t *testing.T) {
	fields := []Instruction{
		{}, {Dst: 1, Src: 2, Offset: 1, Imm: 1}, {Dst: 10, Src: 10, Offset: -1, Imm: -1},
		{Dst: 15, Src: 15}, {Imm: 16}, {Imm: 64, Offset: 8}, {Src: 1, Imm: 0xe1}, {Src: 7, Imm: 0xf1},
	}
	for op := 0; op < 256; op++ {
		for _, f := range fields {
			ins := f
			ins.Opcode = uint8(op)
			for _, s := range []Syntax{SyntaxLLVM, SyntaxConformance, Syntax(7)} {
				text := ins.Format(s)
				reason := ins.validateFields() + ins.validateReserved()
				if (reason != "") != strings.HasPrefix(text, ".invalid ") {
					t.Errorf("%#v.Format(%v) = %q; validation says %q", ins, s, text, reason)
				}
				if text == "" {
					t.Errorf("%#v.Format(%v) is empty", ins, s)
				}
			}
		}
	}
}

func TestFormatListing(t *testing.T) {
	prog := Instructions{
		in(0x18, 0, 0, 0, 0x1122334455667788),
		in(0x15, 1, 0, 1, 5),
		in(0x07, 0, 0, 0, 1),
		in(0x95, 0, 0, 0, 0),
	}
	wantLLVM := "   0:\tr0 = 0x1122334455667788 ll\n" +
		"   2:\tif r1 == 0x5 goto +1\n" +
		"   3:\tr0 += 0x1\n" +
		"   4:\texit\n"
	if got := prog.Format(SyntaxLLVM); got != wantLLVM {
		t.Errorf("Format(SyntaxLLVM) =\n%s\nwant\n%s", got, wantLLVM)
	}
	wantConf := "lddw %r0, 0x1122334455667788\n" +
		"jeq %r1, 5, +1\n" +
		"add %r0, 1\n" +
		"exit\n"
	if got := prog.Format(SyntaxConformance); got != wantConf {
		t.Errorf("Format(SyntaxConformance) =\n%s\nwant\n%s", got, wantConf)
	}
	if got := Instructions(nil).Format(SyntaxLLVM); got != "" {
		t.Errorf("empty program formats as %q", got)
	}
}

func TestSyntaxString(t *testing.T) {
	for s, want := range map[Syntax]string{SyntaxLLVM: "llvm", SyntaxConformance: "conformance", Syntax(9): "Syntax(9)"} {
		if got := s.String(); got != want {
			t.Errorf("Syntax(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestPseudoName(t *testing.T) {
	want := []string{"", "map_fd", "map_value", "btf_id", "func", "map_idx", "map_idx_value", ""}
	for kind, name := range want {
		if got := PseudoName(uint8(kind)); got != name {
			t.Errorf("PseudoName(%d) = %q, want %q", kind, got, name)
		}
	}
}
