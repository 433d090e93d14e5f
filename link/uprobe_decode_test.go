//go:build linux && amd64

package link

import "testing"

// TestDecodeDisplaced: the first instructions that are emulated, and
// what is single-stepped.
func TestDecodeDisplaced(t *testing.T) {
	for _, tc := range []struct {
		name string
		code []byte
		kind insnKind
		n    uint64
		reg  int
	}{
		{"push %rbp", []byte{0x55}, insnPush, 1, 5},
		{"push %rbx", []byte{0x53}, insnPush, 1, 3},
		{"push %r15", []byte{0x41, 0x57}, insnPush, 2, 15},
		{"mov %rsp,%rbp", []byte{0x48, 0x89, 0xe5}, insnMovRBP, 3, 0},
		{"mov %rsp,%rbp (8b)", []byte{0x48, 0x8b, 0xec}, insnMovRBP, 3, 0},
		{"mov 0x18a331(%rip),%rax", []byte{0x48, 0x8b, 0x05, 0x31, 0xa3, 0x18, 0x00}, insnMovRIP, 7, 0},
		{"mov 0x10(%rip),%r12", []byte{0x4c, 0x8b, 0x25, 0x10, 0, 0, 0}, insnMovRIP, 7, 12},
		{"endbr64", []byte{0xf3, 0x0f, 0x1e, 0xfa}, insnNop, 4, 0},
		{"nop", []byte{0x90}, insnNop, 1, 0},
		{"nopl 0x0(%rax,%rax,1)", []byte{0x0f, 0x1f, 0x44, 0x00, 0x00}, insnNop, 5, 0},
		{"mov %edi,-0x14(%rbp)", []byte{0x89, 0x7d, 0xec}, insnStep, 0, 0},
		{"cmp 0x10(%r14),%rsp (Go)", []byte{0x49, 0x3b, 0x66, 0x10}, insnStep, 0, 0},
		{"mov 0x8(%rax),%rax", []byte{0x48, 0x8b, 0x40, 0x08}, insnStep, 0, 0},
		{"sub $0x10,%rsp", []byte{0x48, 0x83, 0xec, 0x10}, insnStep, 0, 0},
	} {
		code := make([]byte, 16)
		copy(code, tc.code)
		kind, n, reg := decodeDisplaced(code)
		if kind != tc.kind || n != tc.n || reg != tc.reg {
			t.Errorf("%s: kind %d, length %d, register %d; want %d, %d, %d", tc.name, kind, n, reg, tc.kind, tc.n, tc.reg)
		}
	}
}
