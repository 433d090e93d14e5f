package maps

import (
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

// FuzzHashOps applies a sequence of operations, 3 bytes each (operation,
// key, value), to a small hash map and to a Go map, and compares every
// result and, at the end, the whole contents.
func FuzzHashOps(f *testing.F) {
	f.Add([]byte{0, 1, 1, 0, 2, 2, 3, 1, 0, 5, 0, 0})
	f.Add([]byte{1, 1, 1, 1, 1, 2, 2, 1, 3, 4, 1, 0, 6, 0, 0})
	f.Add([]byte{0, 1, 1, 0, 2, 2, 0, 3, 3, 0, 4, 4, 0, 5, 5, 0, 6, 6, 0, 7, 7, 0, 8, 8, 0, 9, 9, 4, 3, 0, 0, 9, 9})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const max = 8
		m, err := New(&Spec{Type: ebpf.Hash, KeySize: 3, ValueSize: 5, MaxEntries: max})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		model := map[[3]byte][5]byte{}
		for len(ops) >= 3 {
			op, kb, vb := ops[0], ops[1], ops[2]
			ops = ops[3:]
			k := [3]byte{kb & 15, kb >> 4, 0x5a}
			v := [5]byte{vb, vb ^ 0xff, 1, 2, kb}
			_, exists := model[k]
			switch op % 8 {
			case 0, 1, 2: // update (program or user side) with flags 0-2
				flags := uint64(op % 3)
				var err error
				if op&8 == 0 {
					err = m.Update(k[:], v[:], flags, 0)
				} else {
					err = m.UpdateUser(k[:], v[:], flags)
				}
				var want errno.Errno
				switch {
				case exists && flags == UpdateNoExist:
					want = errno.EEXIST
				case !exists && flags == UpdateExist:
					want = errno.ENOENT
				case !exists && len(model) == max:
					want = errno.E2BIG
				}
				checkErr(t, "update", err, want)
				if want == 0 {
					model[k] = v
				}
			case 3: // delete
				err := m.Delete(k[:])
				if exists {
					checkErr(t, "delete", err, 0)
					delete(model, k)
				} else {
					checkErr(t, "delete", err, errno.ENOENT)
				}
			case 4: // program-side lookup
				p := m.Lookup(k[:], 0)
				if (p != nil) != exists {
					t.Fatalf("lookup %x: %v, exists %v", k, p, exists)
				}
				if p != nil && [5]byte(readPtr(p, 5)) != model[k] {
					t.Fatalf("lookup %x = %x, want %x", k, readPtr(p, 5), model[k])
				}
			case 5: // user-side lookup
				var buf [5]byte
				err := m.LookupUser(k[:], buf[:])
				if !exists {
					checkErr(t, "lookup", err, errno.ENOENT)
				} else if err != nil || buf != model[k] {
					t.Fatalf("lookup %x = %x, %v; want %x", k, buf, err, model[k])
				}
			case 6: // lookup and delete
				var buf [5]byte
				err := m.(LookupAndDeleter).LookupAndDeleteUser(k[:], buf[:])
				if !exists {
					checkErr(t, "lookup and delete", err, errno.ENOENT)
				} else if err != nil || buf != model[k] {
					t.Fatalf("lookup and delete %x = %x, %v; want %x", k, buf, err, model[k])
				}
				delete(model, k)
			case 7: // NextKey from key: a missing key restarts at the first
				next := make([]byte, 3)
				err := m.NextKey(k[:], next)
				if len(model) == 0 || len(model) == 1 && exists {
					checkErr(t, "next", err, errno.ENOENT)
				} else if errors.Is(err, errno.ENOENT) {
					// k was the last key.
					if !exists {
						t.Fatalf("next of missing key %x: no first key, model has %d", k, len(model))
					}
				} else if _, ok := model[[3]byte(next)]; err != nil || !ok || [3]byte(next) == k {
					t.Fatalf("next %x = %x, %v", k, next, err)
				}
			}
		}
		// Contents: NextKey and ForEach both see exactly the model.
		seen := map[[3]byte]bool{}
		var key []byte
		for {
			next := make([]byte, 3)
			if err := m.NextKey(key, next); err != nil {
				checkErr(t, "next", err, errno.ENOENT)
				break
			}
			k := [3]byte(next)
			if _, ok := model[k]; !ok || seen[k] {
				t.Fatalf("NextKey gave %x (in model: %v, repeated: %v)", k, ok, seen[k])
			}
			seen[k] = true
			key = next
		}
		if len(seen) != len(model) {
			t.Fatalf("NextKey gave %d keys, model has %d", len(seen), len(model))
		}
		n := m.(Iterable).ForEach(0, func(k []byte, v unsafe.Pointer) bool {
			if [5]byte(readPtr(v, 5)) != model[[3]byte(k)] {
				t.Fatalf("ForEach %x = %x, want %x", k, readPtr(v, 5), model[[3]byte(k)])
			}
			return true
		})
		if n != len(model) {
			t.Fatalf("ForEach visited %d, model has %d", n, len(model))
		}
		// Every free slot can be reused.
		for i := len(model); i < max; i++ {
			k := binary.BigEndian.AppendUint16([]byte{0xee}, uint16(i))
			checkErr(t, "fill", m.UpdateUser(k, make([]byte, 5), UpdateNoExist), 0)
		}
		checkErr(t, "overfill", m.UpdateUser([]byte{0xff, 0xff, 0xff}, make([]byte, 5), UpdateNoExist), errno.E2BIG)
	})
}
