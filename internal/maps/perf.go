package maps

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// maxPerfSamples is how many unread samples a perf event array keeps; more
// are counted as lost, as a full perf buffer loses them.
const maxPerfSamples = 1 << 16

// PerfSample is one record of bpf_perf_event_output.
type PerfSample struct {
	CPU  uint32 // the slot the record was written to
	Data []byte
}

// PerfEventArray is a perf event array: in the kernel each slot holds a
// perf event (a CPU's buffer) that a reader opened. In waggle a slot is
// open once Go code updates it (with any value: the kernel's is a perf
// event fd) until it deletes it, and the records of every open slot go, in
// order, to one queue that Go code drains with ReadSamples. Output to a
// closed slot fails with ENOENT, as in the kernel.
type PerfEventArray struct {
	base
	open        []atomic.Bool
	mu          sync.Mutex
	samples     []PerfSample
	sampleBytes uint64 // charged to the budget for the unread samples
	lost        uint64
}

func newPerfEventArray(s *Spec) (Map, error) {
	if s.KeySize != 4 || s.ValueSize != 4 {
		return nil, specErr(s, "perf event arrays have 4-byte keys and values, not %d and %d", s.KeySize, s.ValueSize)
	}
	if err := checkFlags(s, FlagNUMANode|FlagRdOnly|FlagWrOnly|FlagPreserveElems); err != nil {
		return nil, err
	}
	p := &PerfEventArray{}
	if err := p.reserve(s, heapBytes(satMul(uint64(s.MaxEntries), uint64(unsafe.Sizeof(atomic.Bool{})))), plural(uint64(s.MaxEntries), "slot", "slots")); err != nil {
		return nil, err
	}
	p.open = make([]atomic.Bool, s.MaxEntries)
	p.onFree = func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.samples, p.sampleBytes = nil, 0
	}
	p.init(s, p)
	return p, nil
}

// sampleBytes is what a sample of n bytes of data takes: the data and its
// PerfSample in the queue (which may hold twice its length as it grows).
func sampleBytes(n int) uint64 {
	return heapBytes(uint64(n)) + 2*uint64(unsafe.Sizeof(PerfSample{}))
}

// Output appends a record for slot index, or fails with ErrKeyNotExist if
// the slot is not open.
func (p *PerfEventArray) Output(index uint32, data []byte) error {
	if index >= uint32(len(p.open)) || !p.open[index].Load() {
		return ErrKeyNotExist
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// A full queue, or one the maps' memory limit does not let grow,
	// loses the sample as a full perf buffer does.
	if len(p.samples) >= maxPerfSamples || !p.grow(sampleBytes(len(data))) {
		p.lost++
		return nil
	}
	p.sampleBytes += sampleBytes(len(data))
	p.samples = append(p.samples, PerfSample{CPU: index, Data: append([]byte(nil), data...)})
	return nil
}

// OpenAll opens every slot, as a reader on every CPU does.
func (p *PerfEventArray) OpenAll() {
	for i := range p.open {
		p.open[i].Store(true)
	}
}

// ReadSamples returns the unread records, oldest first, and how many were
// lost because too many were unread.
func (p *PerfEventArray) ReadSamples() ([]PerfSample, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, lost := p.samples, p.lost
	p.samples, p.lost = nil, 0
	// The samples are the caller's now.
	p.shrink(p.sampleBytes)
	p.sampleBytes = 0
	return s, lost
}

// Lookup has no value for programs to address.
func (p *PerfEventArray) Lookup(key []byte, cpu int) unsafe.Pointer { return nil }

// Update is refused for programs, as in the kernel.
func (p *PerfEventArray) Update(key, value []byte, flags uint64, cpu int) error { return ErrNotSupp }

// Delete closes a slot (programs cannot delete: the verifier refuses it).
func (p *PerfEventArray) Delete(key []byte) error {
	i := *(*uint32)(unsafe.Pointer(&key[0]))
	if i >= uint32(len(p.open)) {
		return ErrKeyNotExist
	}
	p.open[i].Store(false)
	return nil
}

// LookupUser: slots hold no readable value.
func (p *PerfEventArray) LookupUser(key, value []byte) error { return ErrNotSupp }

// UpdateUser opens a slot below max_entries; the value (a perf event fd in
// the kernel) is ignored.
func (p *PerfEventArray) UpdateUser(key, value []byte, flags uint64) error {
	i := *(*uint32)(unsafe.Pointer(&key[0]))
	if i >= p.spec.MaxEntries {
		return ErrFull
	}
	p.open[i].Store(true)
	return nil
}

// NextKey: there are no elements to list.
func (p *PerfEventArray) NextKey(key, next []byte) error { return ErrKeyNotExist }

// Regions: programs cannot address perf buffers.
func (p *PerfEventArray) Regions() []memory.Region { return nil }
