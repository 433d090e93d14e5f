package maps

import (
	"encoding/binary"
	"testing"
)

// The reference values of lookup3's hashlittle, which the kernel's jhash is.
func TestJhash(t *testing.T) {
	for _, tc := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0xdeadbeef},
		{"", 0xdeadbeef, 0xbd5b7dde},
		{"Four score and seven years ago", 0, 0x17770551},
		{"Four score and seven years ago", 1, 0xcd628161},
	} {
		if got := jhash([]byte(tc.in), tc.seed); got != tc.want {
			t.Errorf("jhash(%q, %#x) = %#x, want %#x", tc.in, tc.seed, got, tc.want)
		}
	}
}

// jhash2 of whole words equals jhash of the same bytes on a little-endian
// host (the kernel picks one or the other by the value's size).
func TestJhash2MatchesJhash(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the two agree only on little-endian hosts")
	}
	for n := 0; n <= 40; n += 4 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*37 + 11)
		}
		for _, seed := range []uint32{0, 7, 0xffffffff} {
			if a, w := jhash(b, seed), jhash2(b, seed); a != w {
				t.Errorf("%d bytes, seed %#x: jhash %#x, jhash2 %#x", n, seed, a, w)
			}
		}
	}
}

// TestHashShortcuts checks that the hashes of 4- and 8-byte keys given as
// words equal hashBytes of their bytes.
func TestHashShortcuts(t *testing.T) {
	for _, seed := range []uint64{0, 1, 0x9e3779b97f4a7c15} {
		for _, w := range []uint64{0, 1, 0xdeadbeef, 0xffffffff, 0x0123456789abcdef} {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], w)
			if got, want := hashTail(seed, 4, w&0xffffffff), hashBytes(seed, b[:4]); got != want {
				t.Errorf("hashTail(%#x, 4, %#x) = %#x, hashBytes %#x", seed, w, got, want)
			}
			if got, want := hash8(seed, w), hashBytes(seed, b[:]); got != want {
				t.Errorf("hash8(%#x, %#x) = %#x, hashBytes %#x", seed, w, got, want)
			}
		}
	}
}
