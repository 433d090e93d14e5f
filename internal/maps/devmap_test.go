package maps

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cilium/ebpf"
)

func TestDevMap(t *testing.T) {
	key := func(i uint32) []byte { return binary.NativeEndian.AppendUint32(nil, i) }
	m, err := New(&Spec{Name: "tx", Type: ebpf.DevMap, KeySize: 4, ValueSize: 4, MaxEntries: 4, CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Lookup(key(1), 0) != nil {
		t.Fatal("an unset devmap slot was found")
	}
	if err := m.UpdateUser(key(1), key(7), UpdateAny); err != nil {
		t.Fatal(err)
	}
	if m.Lookup(key(1), 0) == nil {
		t.Fatal("a set devmap slot was not found")
	}
	if err := m.UpdateUser(key(4), key(7), UpdateAny); !errors.Is(err, ErrFull) {
		t.Fatalf("update past max_entries: %v, want E2BIG", err)
	}
	if _, err := New(&Spec{Name: "bad", Type: ebpf.DevMap, KeySize: 4, ValueSize: 2, MaxEntries: 4, CPUs: 1}); err == nil {
		t.Fatal("a 2-byte devmap value was accepted")
	}
	h, err := New(&Spec{Name: "txh", Type: ebpf.DevMapHash, KeySize: 4, ValueSize: 8, MaxEntries: 4, CPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.UpdateUser(key(1000), make([]byte, 8), UpdateAny); err != nil {
		t.Fatalf("devmap_hash key past max_entries: %v", err)
	}
}

func TestPerfEventArray(t *testing.T) {
	m, err := New(&Spec{Name: "events", Type: ebpf.PerfEventArray, KeySize: 4, ValueSize: 4, MaxEntries: 2, CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := m.(*PerfEventArray)
	if err := p.Output(0, []byte("closed")); !errors.Is(err, ErrKeyNotExist) {
		t.Fatalf("output to a closed slot: %v, want ENOENT", err)
	}
	p.OpenAll()
	if err := p.Output(1, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := p.Output(0, []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, lost := p.ReadSamples()
	if len(got) != 2 || string(got[0].Data) != "one" || got[0].CPU != 1 || string(got[1].Data) != "two" || lost != 0 {
		t.Fatalf("ReadSamples = %+v, %d", got, lost)
	}
	if got, _ := p.ReadSamples(); len(got) != 0 {
		t.Fatalf("samples were read twice: %+v", got)
	}
	for range maxPerfSamples + 3 {
		if err := p.Output(0, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, lost := p.ReadSamples(); len(got) != maxPerfSamples || lost != 3 {
		t.Fatalf("%d samples, %d lost; want %d and 3", len(got), lost, maxPerfSamples)
	}
	if err := p.UpdateUser(binary.NativeEndian.AppendUint32(nil, 2), make([]byte, 4), UpdateAny); !errors.Is(err, ErrFull) {
		t.Fatalf("slot past max_entries: %v", err)
	}
	if err := p.Delete(binary.NativeEndian.AppendUint32(nil, 1)); err != nil {
		t.Fatal(err)
	}
	if err := p.Output(1, nil); !errors.Is(err, ErrKeyNotExist) {
		t.Fatalf("output to a deleted slot: %v", err)
	}
}
