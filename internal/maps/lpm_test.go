package maps

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
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

// TestLPMTrieRandomSizes compares tries of several data sizes with a
// brute-force model: 4 and 16 bytes (IPv4, IPv6) take the word-compare
// lookup, a prefix in the second word included; 1, 9 and 17 bytes cover
// its padding and the byte-compare lookup. Lookups have every prefix
// length, not only the full one.
func TestLPMTrieRandomSizes(t *testing.T) {
	for _, size := range []int{1, 4, 9, 16, 17} {
		t.Run(fmt.Sprintf("%d-bytes", size), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(size), 7))
			const max = 300
			bitsN := uint32(8 * size)
			m := mustNew(t, Spec{Type: ebpf.LPMTrie, KeySize: uint32(4 + size), ValueSize: 4, MaxEntries: max, Flags: FlagNoPrealloc})
			type entry struct {
				plen uint32
				data string
			}
			mask := func(d []byte, plen uint32) string {
				out := make([]byte, len(d))
				for i := range d {
					switch {
					case uint32(8*i+8) <= plen:
						out[i] = d[i]
					case uint32(8*i) < plen:
						out[i] = d[i] &^ byte(0xff>>(plen-uint32(8*i)))
					}
				}
				return string(out)
			}
			// Mostly zero bytes, so that long prefixes share their
			// first words and walks go deep: all but the last 8 bytes
			// are rarely anything else.
			randData := func() []byte {
				d := make([]byte, size)
				for i := range d {
					if odds := map[bool]int{true: 16, false: 2}[i < size-8]; rng.IntN(odds) == 0 {
						d[i] = []byte{0x0f, 0xf0, 0xff, 0x80, byte(rng.Uint32())}[rng.IntN(5)]
					}
				}
				return d
			}
			model := map[entry]uint32{}
			for i := range 4000 {
				plen := uint32(rng.IntN(int(bitsN) + 1))
				d := randData()
				e := entry{plen, mask(d, plen)}
				key := cat(u32(plen), d)
				switch op := rng.IntN(10); {
				case op < 5:
					v := rng.Uint32()
					err := m.UpdateUser(key, u32(v), UpdateAny)
					if _, exists := model[e]; !exists && len(model) == max {
						checkErr(t, "update full", err, errno.ENOSPC)
						break
					}
					checkErr(t, "update", err, 0)
					model[e] = v
				case op < 7:
					err := m.Delete(key)
					if _, ok := model[e]; ok {
						checkErr(t, "delete", err, 0)
						delete(model, e)
					} else {
						checkErr(t, "delete", err, errno.ENOENT)
					}
				default:
					best, found := entry{}, false
					for e := range model {
						if e.plen <= plen && mask(d, e.plen) == e.data && (!found || e.plen > best.plen) {
							best, found = e, true
						}
					}
					buf := make([]byte, 4)
					err := m.LookupUser(key, buf)
					if !found {
						checkErr(t, fmt.Sprintf("op %d: lookup %x/%d", i, d, plen), err, errno.ENOENT)
						break
					}
					checkErr(t, "lookup", err, 0)
					if got := binary.NativeEndian.Uint32(buf); got != model[best] {
						t.Fatalf("op %d: lookup %x/%d = %d, want %d (%x/%d)", i, d, plen, got, model[best], best.data, best.plen)
					}
				}
			}
		})
	}
}

// TestLPMTrieConcurrentLookups: lookups run while a writer inserts and
// deletes /24s and /25s next to their path, splitting and merging the
// nodes they walk. Each lookup must give the value of the longest prefix of
// the address in some state of the trie: 10.1.255.1 is only ever under
// 10.1.0.0/16, 10.2.0.1 under 10.0.0.0/8, and 10.1.x.5 under the /16 or
// 10.1.x.0/24. Run it with -race.
func TestLPMTrieConcurrentLookups(t *testing.T) {
	m := mustNew(t, Spec{Type: ebpf.LPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 600, Flags: FlagNoPrealloc})
	key := func(plen uint32, a ...byte) []byte { return cat(u32(plen), a) }
	for _, e := range []struct {
		key []byte
		v   uint32
	}{{key(8, 10, 0, 0, 0), 8}, {key(16, 10, 1, 0, 0), 16}} {
		if err := m.UpdateUser(e.key, u32(e.v), UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	// LookupUser copies the value under the trie's lock; what Lookup's
	// pointer holds may change once Lookup has returned, as a writer
	// reuses a deleted prefix's value slot at once (unlike the kernel,
	// which frees it after an RCU grace period). So the values come from
	// LookupUser, and Lookup must find a value where one always exists.
	read := func(k []byte) (uint32, bool) {
		if m.Lookup(k, 0) == nil {
			return 0, false
		}
		buf := make([]byte, 4)
		if err := m.LookupUser(k, buf); err != nil {
			return 0, false
		}
		return binary.NativeEndian.Uint32(buf), true
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for !stop.Load() {
				if v, ok := read(key(32, 10, 1, 255, 1)); !ok || v != 16 {
					errs <- fmt.Sprintf("10.1.255.1: %d, %v; want 16", v, ok)
					return
				}
				if v, ok := read(key(32, 10, 2, 0, 1)); !ok || v != 8 {
					errs <- fmt.Sprintf("10.2.0.1: %d, %v; want 8", v, ok)
					return
				}
				x := byte(rng.IntN(255))
				if v, ok := read(key(32, 10, 1, x, 5)); !ok || (v != 16 && v != 1000+uint32(x)) {
					errs <- fmt.Sprintf("10.1.%d.5: %d, %v; want 16 or %d", x, v, ok, 1000+uint32(x))
					return
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 20000 {
		x := byte(rng.IntN(255))
		switch rng.IntN(3) {
		case 0:
			if err := m.UpdateUser(key(24, 10, 1, x, 0), u32(1000+uint32(x)), UpdateAny); err != nil {
				t.Fatal(err)
			}
		case 1:
			if err := m.UpdateUser(key(25, 10, 1, x, 128), u32(2000), UpdateAny); err != nil {
				t.Fatal(err)
			}
		default:
			_ = m.Delete(key(24, 10, 1, x, 0))
			_ = m.Delete(key(25, 10, 1, x, 128))
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
