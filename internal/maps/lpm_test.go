package maps

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

// lpmKey is an IPv4 LPM key: prefix length (host order), address.
func lpmKey(prefix string) []byte {
	p := netip.MustParsePrefix(prefix)
	a := p.Addr().As4()
	return cat(u32(uint32(p.Bits())), a[:])
}

func lpmKeyString(k []byte) string {
	return fmt.Sprintf("%s/%d", netip.AddrFrom4([4]byte(k[4:8])), binary.NativeEndian.Uint32(k))
}

func newLPM(t *testing.T, max uint32) Map {
	return mustNew(t, Spec{Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: max, Flags: FlagNoPrealloc})
}

func TestLPMTrie(t *testing.T) {
	m := newLPM(t, 5)
	// The example of the kernel's lpm_trie.c.
	runSteps(t, m, []step{
		{op: "next", key: nil, err: errno.ENOENT},
		{op: "updateUser", key: lpmKey("192.168.0.0/16"), val: u32(1)},
		{op: "updateUser", key: lpmKey("192.168.0.0/24"), val: u32(2)},
		{op: "updateUser", key: lpmKey("192.168.128.0/24"), val: u32(3)},
		{op: "update", key: lpmKey("192.168.1.0/24"), val: u32(5)},
		{op: "lookup", key: lpmKey("192.168.0.1/32"), want: u32(2)},
		{op: "lookup", key: lpmKey("192.168.1.1/32"), want: u32(5)},
		{op: "lookup", key: lpmKey("192.168.2.1/32"), want: u32(1)},
		{op: "lookup", key: lpmKey("192.168.128.9/32"), want: u32(3)},
		{op: "lookup", key: lpmKey("192.168.129.9/32"), want: u32(1)},
		{op: "lookup", key: lpmKey("10.0.0.1/32")},
		{op: "lookupUser", key: lpmKey("10.0.0.1/32"), err: errno.ENOENT},
		// The key's prefix length limits the match.
		{op: "lookup", key: lpmKey("192.168.1.1/20"), want: u32(1)},
		{op: "lookup", key: lpmKey("192.168.1.1/8")},
		{op: "lookup", key: cat(u32(33), []byte{192, 168, 0, 1})},
		{op: "lookupUser", key: lpmKey("192.168.1.1/32"), want: u32(5)},
		// Flags.
		{op: "updateUser", key: lpmKey("192.168.0.0/16"), val: u32(9), flags: UpdateNoExist, err: errno.EEXIST},
		{op: "updateUser", key: lpmKey("192.168.0.0/23"), val: u32(9), flags: UpdateExist, err: errno.ENOENT},
		{op: "updateUser", key: lpmKey("10.0.0.0/8"), val: u32(9), flags: UpdateExist, err: errno.ENOENT},
		{op: "updateUser", key: lpmKey("192.168.0.0/16"), val: u32(11), flags: UpdateExist},
		{op: "lookup", key: lpmKey("192.168.2.1/32"), want: u32(11)},
		{op: "updateUser", key: cat(u32(33), []byte{1, 2, 3, 4}), val: u32(1), err: errno.EINVAL},
		{op: "updateUser", key: lpmKey("1.0.0.0/8"), val: u32(1), flags: 4, err: errno.EINVAL},
		// Postorder: more specific first.
		{op: "next", key: nil, want: lpmKey("192.168.0.0/24")},
		{op: "next", key: lpmKey("192.168.0.0/24"), want: lpmKey("192.168.1.0/24")},
		{op: "next", key: lpmKey("192.168.1.0/24"), want: lpmKey("192.168.128.0/24")},
		{op: "next", key: lpmKey("192.168.128.0/24"), want: lpmKey("192.168.0.0/16")},
		{op: "next", key: lpmKey("192.168.0.0/16"), err: errno.ENOENT},
		{op: "next", key: lpmKey("192.168.0.0/23"), want: lpmKey("192.168.0.0/24")},
		// The intermediate node 192.168.0.0/23 becomes real on demand.
		{op: "updateUser", key: lpmKey("192.168.0.0/23"), val: u32(23), flags: UpdateNoExist},
		{op: "lookup", key: lpmKey("192.168.0.1/23"), want: u32(23)},
		{op: "next", key: lpmKey("192.168.1.0/24"), want: lpmKey("192.168.0.0/23")},
		// Full: ENOSPC for a new prefix, replacing still works.
		{op: "updateUser", key: lpmKey("10.0.0.0/8"), val: u32(1), err: errno.ENOSPC},
		{op: "updateUser", key: lpmKey("192.168.0.0/23"), val: u32(24)},
		// Delete is exact.
		{op: "delete", key: lpmKey("192.168.0.0/22"), err: errno.ENOENT},
		{op: "delete", key: lpmKey("192.168.0.5/32"), err: errno.ENOENT},
		{op: "delete", key: cat(u32(40), []byte{1, 2, 3, 4}), err: errno.EINVAL},
		{op: "delete", key: lpmKey("192.168.0.0/24")},
		{op: "lookup", key: lpmKey("192.168.0.1/32"), want: u32(24)},
		{op: "delete", key: lpmKey("192.168.0.0/23")},
		{op: "lookup", key: lpmKey("192.168.0.1/32"), want: u32(11)},
		{op: "lookup", key: lpmKey("192.168.1.1/32"), want: u32(5)},
		{op: "updateUser", key: lpmKey("10.0.0.0/8"), val: u32(8)},
		{op: "delete", key: lpmKey("192.168.0.0/16")},
		{op: "lookup", key: lpmKey("192.168.2.1/32")},
		{op: "lookup", key: lpmKey("192.168.128.1/32"), want: u32(3)},
		{op: "lookup", key: lpmKey("10.1.2.3/32"), want: u32(8)},
		{op: "updateUser", key: lpmKey("0.0.0.0/0"), val: u32(100)},
		{op: "lookup", key: lpmKey("192.168.2.1/32"), want: u32(100)},
		{op: "lookup", key: lpmKey("1.1.1.1/0"), want: u32(100)},
	})
	var got []string
	for _, k := range collectKeys(t, m) {
		got = append(got, lpmKeyString(k))
	}
	want := []string{"10.0.0.0/8", "192.168.1.0/24", "192.168.128.0/24", "0.0.0.0/0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("NextKey order %v, want %v", got, want)
	}
}

// TestLPMTrieRandom compares the trie with a brute-force model.
func TestLPMTrieRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const max = 200
	m := mustNew(t, Spec{Type: ebpf.LPMTrie, KeySize: 4 + 2, ValueSize: 4, MaxEntries: max, Flags: FlagNoPrealloc})
	type entry struct {
		plen uint32
		data uint16
	}
	model := map[entry]uint32{}
	mask := func(d uint16, plen uint32) uint16 {
		if plen == 0 {
			return 0
		}
		return d &^ (1<<(16-plen) - 1)
	}
	key := func(plen uint32, d uint16) []byte {
		return cat(u32(plen), binary.BigEndian.AppendUint16(nil, d))
	}
	for i := range 5000 {
		plen := uint32(rng.IntN(17))
		d := mask(uint16(rng.Uint32()&0xf0f0), plen)
		e := entry{plen, d}
		switch op := rng.IntN(10); {
		case op < 5:
			v := rng.Uint32()
			err := m.UpdateUser(key(plen, d), u32(v), UpdateAny)
			_, exists := model[e]
			if !exists && len(model) == max {
				checkErr(t, "update full", err, errno.ENOSPC)
				break
			}
			checkErr(t, "update", err, 0)
			model[e] = v
		case op < 8:
			err := m.Delete(key(plen, d))
			if _, ok := model[e]; ok {
				checkErr(t, "delete", err, 0)
				delete(model, e)
			} else {
				checkErr(t, "delete", err, errno.ENOENT)
			}
		default:
			q := uint16(rng.Uint32())
			qlen := uint32(16)
			best, found := entry{}, false
			for e := range model {
				if e.plen <= qlen && mask(q, e.plen) == e.data && (!found || e.plen > best.plen) {
					best, found = e, true
				}
			}
			buf := make([]byte, 4)
			err := m.LookupUser(key(qlen, q), buf)
			if !found {
				checkErr(t, fmt.Sprintf("op %d: lookup %#x", i, q), err, errno.ENOENT)
				break
			}
			checkErr(t, "lookup", err, 0)
			if got := binary.NativeEndian.Uint32(buf); got != model[best] {
				t.Fatalf("op %d: lookup %#x = %d, want %d (%d/%d)", i, q, got, model[best], best.data, best.plen)
			}
		}
		if i%500 == 0 || i == 4999 {
			keys := collectKeys(t, m)
			if len(keys) != len(model) {
				t.Fatalf("op %d: NextKey gave %d keys, model has %d", i, len(keys), len(model))
			}
			seen := map[entry]bool{}
			for j, k := range keys {
				e := entry{binary.NativeEndian.Uint32(k), binary.BigEndian.Uint16(k[4:])}
				if _, ok := model[e]; !ok || seen[e] {
					t.Fatalf("op %d: NextKey gave %v", i, e)
				}
				seen[e] = true
				// Postorder: no later key is more specific and
				// contained in an earlier one.
				for _, later := range keys[j+1:] {
					le := entry{binary.NativeEndian.Uint32(later), binary.BigEndian.Uint16(later[4:])}
					if le.plen > e.plen && mask(le.data, e.plen) == e.data {
						t.Fatalf("op %d: %v comes after %v, which contains it", i, le, e)
					}
				}
			}
		}
	}
}
