package waggle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// Pins.
//
// A kernel pin is a name in bpffs for a live map: it keeps the map alive
// after its last file descriptor closes, and vanishes at reboot. waggle's
// pin is a file that holds a snapshot of the map's spec and entries, so
// that the map's state survives the process. waggle bridges the two: in
// the process that pinned (or loaded) a map, the pin is live — a
// registry, by path, holds a reference on the map as bpffs does, and
// LoadPinnedMap of that path returns the same map, not a copy; and the
// file is rewritten, atomically, by Map.Pin, Map.SyncPin and the Close of
// any Map of the pinned map. A new process's LoadPinnedMap reads the file.
// Changes made after the last write are lost if the process ends without
// one (a crash, or os.Exit without Close).

// LoadPinOptions control LoadPinnedMap.
type LoadPinOptions struct {
	// MemoryLimit is the most memory, in bytes, that the map may hold
	// (as MapOptions.MemoryLimit): a pin file that asks for more is
	// refused with ENOMEM. 0 sets no limit of its own; the limit for all
	// the maps of the process always applies.
	MemoryLimit uint64
}

// pinMagic starts every pin file; pinVersion is the format's version.
const (
	pinMagic      = "WGLPIN\x00\x01"
	pinVersion    = 1
	pinHeaderSize = 64
	pinMaxName    = 4096
	pinMaxCPUs    = 1 << 16
)

// Byte orders of the keys and values in a pin file (the host's, as the map
// holds them).
const (
	pinLittleEndian = 1
	pinBigEndian    = 2
)

// pinFrozen is the state bit of a frozen map.
const pinFrozen = 1

// hostOrder is the pin file's code for the host's byte order.
func hostOrder() uint8 {
	var x uint16 = 1
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return pinLittleEndian
	}
	return pinBigEndian
}

// pinReason says why a map of type t cannot be pinned to a file, or "" if
// it can.
func pinReason(t ebpf.MapType) string {
	switch t {
	case ebpf.Array, ebpf.PerCPUArray, ebpf.Hash, ebpf.PerCPUHash, ebpf.LRUHash, ebpf.LRUCPUHash, ebpf.LPMTrie:
		return ""
	case ebpf.ProgramArray, ebpf.ArrayOfMaps, ebpf.HashOfMaps:
		return "its values are programs or maps of this process, which a file cannot hold"
	case ebpf.RingBuf, ebpf.PerfEventArray:
		return "it is a stream of events for a reader of this process, not state"
	case ebpf.Queue, ebpf.Stack:
		return "reading its elements removes them, so it cannot be snapshotted while in use"
	case ebpf.BloomFilter:
		return "its elements cannot be listed"
	case ebpf.DevMap, ebpf.DevMapHash:
		return "its values name network interfaces (and programs) of this process"
	}
	return "waggle does not pin maps of this type"
}

// pinRegistry holds the live pins of the process: each holds a reference
// on its map (maps.Retain), as a bpffs pin does, until Unpin.
var pinRegistry = struct {
	sync.Mutex
	byPath map[string]*pinEntry
	byMap  map[maps.Map]*pinEntry
}{byPath: map[string]*pinEntry{}, byMap: map[maps.Map]*pinEntry{}}

// pinEntry is one live pin.
type pinEntry struct {
	impl maps.Map
	path string
	mu   sync.Mutex // serialises writes of the file
	// unpinned is set by Unpin (under mu): later writes do nothing.
	unpinned bool
}

// pinWriter, when set (by tests), wraps the writer of pin files: a
// failing writer stands for a crash in the middle of a write.
var pinWriter func(io.Writer) io.Writer

// pinPath is the absolute, clean form of a pin's file name.
func pinPath(fileName string) (string, error) {
	if fileName == "" {
		return "", errors.New("the pin path is empty")
	}
	return filepath.Abs(fileName)
}

// Pin writes the map's spec and entries to the file fileName, atomically
// (a temporary file in the same directory, fsynced, renamed over the
// target), and remembers the pin: later changes reach the file when the
// map is pinned again at the same path, at SyncPin, and when any Map of it
// is closed (Close, Collection.Close). Until Unpin, the pin keeps the map
// alive in this process, as a bpffs pin does, and LoadPinnedMap(fileName)
// returns it; a new process's LoadPinnedMap reads the file.
//
// As with the kernel's pins, fileName must not exist unless it is this
// map's pin (an error matching unix.EEXIST); pinning a pinned map at
// another path moves the pin. Maps of these types can be pinned: array,
// percpu_array, hash, percpu_hash, lru_hash, lru_percpu_hash and lpm_trie;
// the others are refused with an error that says why and matches
// ebpf.ErrNotSupported. The snapshot is taken as Iterate reads the map:
// programs that write meanwhile may or may not be seen, and an LRU map's
// order of use is not kept.
func (m *Map) Pin(fileName string) error {
	if m.closed.Load() {
		return m.errClosed("pin")
	}
	if why := pinReason(m.typ); why != "" {
		return fmt.Errorf("pin map %s: a %s map cannot be pinned to a file: %s: %w", m.label(), m.typ, why, ebpf.ErrNotSupported)
	}
	path, err := pinPath(fileName)
	if err != nil {
		return fmt.Errorf("pin map %s: %w", m.label(), err)
	}
	reg := &pinRegistry
	reg.Lock()
	defer reg.Unlock()
	if e := reg.byMap[m.impl]; e != nil && e.path == path {
		return e.write()
	}
	if other := reg.byPath[path]; other != nil {
		return fmt.Errorf("pin map %s: %s is the pin of another map: %w", m.label(), path, errno.EEXIST)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("pin map %s: %s exists (remove it, or load it with LoadPinnedMap): %w", m.label(), path, errno.EEXIST)
	}
	if old := reg.byMap[m.impl]; old != nil { // move the pin
		moved := &pinEntry{impl: m.impl, path: path}
		if err := moved.write(); err != nil {
			return err
		}
		if err := os.Remove(old.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pin map %s: move the pin from %s to %s: %w", m.label(), old.path, path, err)
		}
		delete(reg.byPath, old.path)
		reg.byPath[path], reg.byMap[m.impl] = moved, moved
		return nil
	}
	e := &pinEntry{impl: m.impl, path: path}
	if err := e.write(); err != nil {
		return err
	}
	if !maps.Retain(m.impl) {
		os.Remove(path)
		return m.errClosed("pin")
	}
	reg.byPath[path], reg.byMap[m.impl] = e, e
	return nil
}

// Unpin removes the map's pin file and lets the pin's reference on the map
// go, as cilium/ebpf's Map.Unpin unlinks the bpffs pin. The map's other
// references are unaffected. Unpinning a map that is not pinned does
// nothing.
func (m *Map) Unpin() error {
	reg := &pinRegistry
	reg.Lock()
	e := reg.byMap[m.impl]
	if e == nil {
		reg.Unlock()
		return nil
	}
	delete(reg.byMap, m.impl)
	delete(reg.byPath, e.path)
	reg.Unlock()
	e.mu.Lock() // let a write under way finish
	defer e.mu.Unlock()
	e.unpinned = true
	maps.Release(e.impl)
	if err := os.Remove(e.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unpin map %s: %w", m.label(), err)
	}
	return nil
}

// IsPinned reports whether the map is pinned (by Pin, LoadPinnedMap or a
// collection's PinByName) in this process.
func (m *Map) IsPinned() bool {
	reg := &pinRegistry
	reg.Lock()
	defer reg.Unlock()
	return reg.byMap[m.impl] != nil
}

// SyncPin writes the map's current contents to its pin file, atomically,
// as Pin does. It fails if the map is not pinned.
func (m *Map) SyncPin() error {
	if m.closed.Load() {
		return m.errClosed("sync pin")
	}
	e := pinOf(m.impl)
	if e == nil {
		return fmt.Errorf("sync pin: map %s is not pinned", m.label())
	}
	return e.write()
}

// pinOf is impl's live pin, or nil.
func pinOf(impl maps.Map) *pinEntry {
	reg := &pinRegistry
	reg.Lock()
	defer reg.Unlock()
	return reg.byMap[impl]
}

// syncPinOnClose writes the pin file of a pinned map whose Map is being
// closed.
func syncPinOnClose(impl maps.Map) error {
	if e := pinOf(impl); e != nil {
		return e.write()
	}
	return nil
}

// write writes the map's snapshot to the pin file: a temporary file in the
// same directory, fsynced, renamed over the file, and the directory
// fsynced. A failure leaves the old file as it was.
func (e *pinEntry) write() (err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.unpinned {
		return nil
	}
	spec := e.impl.Spec()
	data, err := encodePin(e.impl)
	if err != nil {
		return fmt.Errorf("pin map %s to %s: %w", spec.Name, e.path, err)
	}
	dir := filepath.Dir(e.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(e.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("pin map %s: %w", spec.Name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("pin map %s to %s: %w (the file is unchanged)", spec.Name, e.path, err)
		}
	}()
	var w io.Writer = tmp
	if pinWriter != nil {
		w = pinWriter(w)
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), e.path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename; some file systems cannot sync a directory
		d.Close()
	}
	return nil
}

// pinValueBytes is the size of a value as the map holds it: per-CPU maps
// hold CPUs values, each padded to 8 bytes.
func pinValueBytes(s *maps.Spec) uint64 {
	if maps.IsPerCPU(s.Type) {
		return uint64(s.CPUs) * uint64(maps.ValueStride(s.ValueSize))
	}
	return uint64(s.ValueSize)
}

// encodePin is the pin file of a map. The format, version 1 (integers of
// the header little-endian; keys and values as the map holds them, in the
// host's byte order, which the header records):
//
//	0  magic "WGLPIN\x00\x01"     8 bytes
//	8  version                    u32 (1)
//	12 byte order of the entries  u8 (1 little, 2 big endian)
//	13 state                      u8 (bit 0: frozen)
//	14 reserved                   u16 (0)
//	16 type, key size, value size, max entries, flags: u32 each
//	36 CPU slots                  u32 (per-CPU maps; 0 for the others)
//	40 bpf_spin_lock offset + 1   u32 (0: the value holds none)
//	44 name length                u32
//	48 map_extra                  u64
//	56 number of entries          u64
//	64 name, then each entry: key (key size bytes), value (value size
//	   bytes; per-CPU maps: CPU slots × value size rounded up to 8)
//	   CRC-32C of all that precedes   u32
//
// Arrays' all-zero values are left out (a new array holds zeroes).
func encodePin(impl maps.Map) ([]byte, error) {
	s := impl.Spec()
	valueBytes := pinValueBytes(s)
	isArray := s.Type == ebpf.Array || s.Type == ebpf.PerCPUArray
	var entries []byte
	var count uint64
	var key []byte
	next := make([]byte, s.KeySize)
	value := make([]byte, valueBytes)
	for count <= uint64(s.MaxEntries) {
		if err := impl.NextKey(key, next); err != nil {
			if errors.Is(err, maps.ErrKeyNotExist) {
				break
			}
			return nil, fmt.Errorf("read the map: %w", err)
		}
		key = append(key[:0], next...)
		if err := impl.LookupUser(key, value); err != nil {
			if errors.Is(err, maps.ErrKeyNotExist) {
				continue // deleted meanwhile
			}
			return nil, fmt.Errorf("read the map: %w", err)
		}
		if isArray && allZero(value) {
			continue
		}
		entries = append(entries, key...)
		entries = append(entries, value...)
		count++
	}
	if count > uint64(s.MaxEntries) {
		return nil, fmt.Errorf("read the map: more than its %d entries (it kept changing): %w", s.MaxEntries, ebpf.ErrIterationAborted)
	}
	le := binary.LittleEndian
	h := make([]byte, pinHeaderSize, pinHeaderSize+len(s.Name)+len(entries)+4)
	copy(h, pinMagic)
	le.PutUint32(h[8:], pinVersion)
	h[12] = hostOrder()
	if maps.Frozen(impl) {
		h[13] = pinFrozen
	}
	le.PutUint32(h[16:], uint32(s.Type))
	le.PutUint32(h[20:], s.KeySize)
	le.PutUint32(h[24:], s.ValueSize)
	le.PutUint32(h[28:], s.MaxEntries)
	le.PutUint32(h[32:], s.Flags)
	if maps.IsPerCPU(s.Type) {
		le.PutUint32(h[36:], uint32(s.CPUs))
	}
	if s.HasSpinLock {
		le.PutUint32(h[40:], s.SpinLockOffset+1)
	}
	le.PutUint32(h[44:], uint32(len(s.Name)))
	le.PutUint64(h[48:], s.MapExtra)
	le.PutUint64(h[56:], count)
	h = append(h, s.Name...)
	h = append(h, entries...)
	return le.AppendUint32(h, crc32.Checksum(h, crcTable())), nil
}

// crcTable is CRC-32C's, made when a pin is first written or read: making
// it at start-up cost every waggle process a quarter of a millisecond.
var crcTable = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// pinFile is a decoded pin file.
type pinFile struct {
	spec    maps.Spec
	frozen  bool
	count   uint64
	entries []byte // count × (key, value)
}

// decodePin checks and decodes a pin file, without allocating more than
// the file's size.
func decodePin(data []byte) (*pinFile, error) {
	le := binary.LittleEndian
	switch {
	case len(data) < len(pinMagic) || string(data[:len(pinMagic)]) != pinMagic:
		return nil, fmt.Errorf("not a waggle pin file: it starts with %q, not %q", data[:min(len(data), len(pinMagic))], pinMagic)
	case len(data) < pinHeaderSize+4:
		return nil, fmt.Errorf("truncated pin file: %d bytes, less than the %d-byte header and checksum", len(data), pinHeaderSize+4)
	}
	if v := le.Uint32(data[8:]); v != pinVersion {
		return nil, fmt.Errorf("pin file of format version %d; this waggle reads version %d", v, pinVersion)
	}
	if o := data[12]; o != hostOrder() {
		return nil, fmt.Errorf("pin file written on a host of the other byte order (code %d, this host's is %d)", o, hostOrder())
	}
	if data[13]&^pinFrozen != 0 || le.Uint16(data[14:]) != 0 {
		return nil, fmt.Errorf("corrupt pin file: unknown state bits %#x or reserved bytes %#x", data[13], le.Uint16(data[14:]))
	}
	p := &pinFile{frozen: data[13]&pinFrozen != 0}
	s := &p.spec
	s.Type = ebpf.MapType(le.Uint32(data[16:]))
	s.KeySize, s.ValueSize, s.MaxEntries, s.Flags = le.Uint32(data[20:]), le.Uint32(data[24:]), le.Uint32(data[28:]), le.Uint32(data[32:])
	cpus, lock, nameLen := le.Uint32(data[36:]), le.Uint32(data[40:]), le.Uint32(data[44:])
	s.MapExtra, p.count = le.Uint64(data[48:]), le.Uint64(data[56:])
	if why := pinReason(s.Type); why != "" {
		return nil, fmt.Errorf("corrupt pin file: it holds a %s map, which cannot be pinned: %s", s.Type, why)
	}
	if maps.IsPerCPU(s.Type) {
		if cpus == 0 || cpus > pinMaxCPUs {
			return nil, fmt.Errorf("corrupt pin file: a %s map of %d CPU slots (1 to %d)", s.Type, cpus, pinMaxCPUs)
		}
		s.CPUs = int(cpus)
	} else if cpus != 0 {
		return nil, fmt.Errorf("corrupt pin file: %d CPU slots for a %s map, which is not per-CPU", cpus, s.Type)
	} else {
		s.CPUs = 1
	}
	if lock != 0 {
		s.HasSpinLock, s.SpinLockOffset = true, lock-1
		if uint64(s.SpinLockOffset)+4 > uint64(s.ValueSize) || s.SpinLockOffset%4 != 0 {
			return nil, fmt.Errorf("corrupt pin file: a bpf_spin_lock at byte %d of a %d-byte value", s.SpinLockOffset, s.ValueSize)
		}
	}
	if nameLen > pinMaxName {
		return nil, fmt.Errorf("corrupt pin file: a %d-byte map name (at most %d)", nameLen, pinMaxName)
	}
	body := data[pinHeaderSize : len(data)-4]
	if uint64(len(body)) < uint64(nameLen) {
		return nil, fmt.Errorf("truncated pin file: the %d-byte map name ends past the file's end", nameLen)
	}
	s.Name, body = string(body[:nameLen]), body[nameLen:]
	if p.count > uint64(s.MaxEntries) {
		return nil, fmt.Errorf("corrupt pin file: map %s holds %d entries, more than its max entries %d", s.Name, p.count, s.MaxEntries)
	}
	entry := uint64(s.KeySize) + pinValueBytes(s)
	if entry == 0 && p.count > 0 || entry > 0 && p.count > uint64(len(body))/entry || p.count*entry != uint64(len(body)) {
		return nil, fmt.Errorf("truncated or corrupt pin file: map %s: %d entries of %d bytes need %d bytes, the file has %d", s.Name, p.count, entry, p.count*entry, len(body))
	}
	if got, want := crc32.Checksum(data[:len(data)-4], crcTable()), le.Uint32(data[len(data)-4:]); got != want {
		return nil, fmt.Errorf("corrupt pin file: checksum %#08x, the file says %#08x", got, want)
	}
	p.entries = body
	return p, nil
}

// LoadPinnedMap loads the map pinned at fileName, as cilium/ebpf's
// LoadPinnedMap does. If this process pinned it (or loaded it already) and
// it is still pinned, the result is the same live map. Otherwise the file
// is read: the map is created from its spec as NewMap creates maps (the
// kernel's checks, the memory limits), filled with its entries, frozen if
// it was, and pinned at fileName (see Map.Pin). Per-CPU maps get the CPU
// slots the file records. A missing file is an error matching
// os.ErrNotExist; a file of another format, version or byte order, or a
// truncated or corrupt one, is refused with an error that names the file
// and what is wrong. opts may be nil.
func LoadPinnedMap(fileName string, opts *LoadPinOptions) (*Map, error) {
	if opts == nil {
		opts = &LoadPinOptions{}
	}
	var budget *maps.Budget
	if opts.MemoryLimit > 0 {
		budget = maps.NewBudget(nil, opts.MemoryLimit, "this map", "LoadPinOptions.MemoryLimit")
	}
	return loadPinned(fileName, budget)
}

// loadPinned is LoadPinnedMap with the budget to charge.
func loadPinned(fileName string, budget *maps.Budget) (*Map, error) {
	path, err := pinPath(fileName)
	if err != nil {
		return nil, fmt.Errorf("load pinned map: %w", err)
	}
	reg := &pinRegistry
	reg.Lock()
	defer reg.Unlock()
	if e := reg.byPath[path]; e != nil && maps.Retain(e.impl) {
		return wrapMap(e.impl, true), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load pinned map: %w", err)
	}
	p, err := decodePin(data)
	if err != nil {
		return nil, fmt.Errorf("load pinned map %s: %w", path, err)
	}
	p.spec.Budget = budget
	impl, err := maps.New(&p.spec)
	if err != nil {
		return nil, fmt.Errorf("load pinned map %s: %w", path, err)
	}
	if err := fillPinned(impl, p); err != nil {
		impl.Close()
		return nil, fmt.Errorf("load pinned map %s: map %s: %w", path, p.spec.Name, err)
	}
	if p.spec.Flags&readOnlyProg != 0 {
		for _, r := range impl.Regions() {
			memory.SetSharedWritable(r.Start, false)
		}
	}
	if p.frozen {
		maps.Freeze(impl)
	}
	maps.Retain(impl) // the pin's reference
	e := &pinEntry{impl: impl, path: path}
	reg.byPath[path], reg.byMap[impl] = e, e
	return wrapMap(impl, false), nil
}

// fillPinned stores a pin file's entries in a new map.
func fillPinned(impl maps.Map, p *pinFile) error {
	k := int(p.spec.KeySize)
	entry := k + int(pinValueBytes(&p.spec))
	flags := maps.UpdateNoExist // a key twice: a corrupt file
	if p.spec.Type == ebpf.Array || p.spec.Type == ebpf.PerCPUArray {
		flags = maps.UpdateAny // every key of an array exists
	}
	for i := range int(p.count) {
		e := p.entries[i*entry : (i+1)*entry]
		if err := impl.UpdateUser(e[:k], e[k:], flags); err != nil {
			return fmt.Errorf("entry %d (key %x): %w", i, e[:k], err)
		}
	}
	return nil
}

// pinnedCollectionMap is a collection's map whose spec asks for
// PinByName: the pin at pinPath/name if there is one (which must be
// compatible with the spec; its contents win), else a new map, pinned
// there. loaded reports the former.
func pinnedCollectionMap(name string, ms *ebpf.MapSpec, pinDir string, cpus int, budget *maps.Budget) (m *Map, loaded bool, err error) {
	if pinDir == "" {
		return nil, false, fmt.Errorf("map %s: pinned by name, but CollectionOptions.PinPath is empty", name)
	}
	if why := pinReason(ms.Type); why != "" {
		return nil, false, fmt.Errorf("map %s: pinned by name, but a %s map cannot be pinned to a file: %s: %w", name, ms.Type, why, ebpf.ErrNotSupported)
	}
	path := filepath.Join(pinDir, name)
	m, err = loadPinned(path, budget)
	switch {
	case err == nil:
		if err := compatible(ms, m, cpus); err != nil {
			m.Close()
			return nil, false, fmt.Errorf("map %s: pinned at %s: %w", name, path, err)
		}
		return m, true, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, false, fmt.Errorf("map %s: %w", name, err)
	}
	m, err = NewMapWithOptions(ms, MapOptions{CPUs: cpus, budget: budget})
	if err != nil {
		return nil, false, err // it names the map
	}
	if err := freezeMap(m, ms); err != nil {
		m.Close()
		return nil, false, fmt.Errorf("map %s: %w", name, err)
	}
	if err := m.Pin(path); err != nil {
		m.Close()
		return nil, false, fmt.Errorf("map %s: %w", name, err)
	}
	return m, false, nil
}
