package maps

import (
	"fmt"
	"math"
	"math/bits"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

// Budget is an account of the memory that maps hold: the bytes of their
// values and of the bookkeeping each type allocates (keys, hash chains,
// free lists, per-CPU copies, nodes), charged before the map allocates them
// and given back when the map is freed (its last reference dropped).
//
// Every map is charged to the process's budget (Process); a map created
// with a Budget of its own (Spec.Budget, made by NewBudget) is charged to
// that one too, so that one collection, or one map, can be held to less.
// A charge that either account cannot cover fails with ENOMEM before
// anything is allocated, because a Go allocation that the system refuses
// ends the process ("fatal error: out of memory") where the kernel's
// would fail with ENOMEM.
type Budget struct {
	limit  atomic.Uint64
	used   atomic.Uint64
	parent *Budget
	scope  string // whose maps: "this process", "this collection"...

	mu     sync.Mutex
	origin string // why the limit is what it is, for messages

	// garbage is what maps freed since the last collection gave back
	// (process budget only): their memory stays in the Go heap until the
	// garbage collector finds it unreachable, so a new map that brings
	// what maps hold and the garbage past the limit runs the collector.
	garbage      atomic.Uint64
	garbageCycle uint64 // collections completed when a map was last freed (mu)

	// defaults, when set, gives the limit and its origin the first time
	// either is needed (the process's budget: DefaultLimit reads /proc and
	// the cgroup's files, which a process that creates no map, such as
	// waggle verify, need not pay for).
	defaults     func() (uint64, string)
	defaultsOnce sync.Once
}

// Process is the budget of every map of the process. Its limit defaults to
// DefaultLimit, worked out when first needed.
var Process = newProcessBudget()

func newProcessBudget() *Budget {
	return &Budget{scope: "the maps of this process", defaults: DefaultLimit}
}

// ready sets the default limit, the first time, of a budget that has one
// (defaults), and returns b.
func (b *Budget) ready() *Budget {
	if b.defaults != nil {
		b.defaultsOnce.Do(func() {
			limit, origin := b.defaults()
			b.mu.Lock()
			b.limit.Store(limit)
			b.origin = origin
			b.mu.Unlock()
		})
	}
	return b
}

// NewBudget returns an account of at most limit bytes for some maps, whose
// charges are charged to parent as well (nil: the process's budget). For
// error messages, scope says whose maps ("the maps of this collection")
// and origin where the limit comes from.
func NewBudget(parent *Budget, limit uint64, scope, origin string) *Budget {
	if parent == nil {
		parent = Process
	}
	b := &Budget{parent: parent, scope: scope, origin: origin}
	b.limit.Store(limit)
	return b
}

// Limit is the most bytes the account's maps may hold together.
func (b *Budget) Limit() uint64 { return b.ready().limit.Load() }

// Used is the bytes the account's live maps hold.
func (b *Budget) Used() uint64 { return b.used.Load() }

// SetLimit changes the limit (origin says where the new one comes from)
// and returns the previous one. Maps that already hold more keep their
// memory; new charges fail until enough is given back.
func (b *Budget) SetLimit(limit uint64, origin string) uint64 {
	b.ready()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.origin = origin
	return b.limit.Swap(limit)
}

// Origin says where the limit comes from.
func (b *Budget) Origin() string {
	b.ready()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.origin
}

// take charges n bytes to b alone; it reports the bytes that were left if
// they are not enough.
func (b *Budget) take(n uint64) (left uint64, ok bool) {
	b.ready()
	for {
		used, limit := b.used.Load(), b.limit.Load()
		if used > limit || n > limit-used {
			return limit - min(used, limit), false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return 0, true
		}
	}
}

// charge takes n bytes from b and every account above it, or from none:
// the error (ENOMEM) names the map, the bytes it needs (what says for what)
// and the limit that refuses them. When a new map (collect) would bring
// what maps hold, with what freed maps gave back that the garbage
// collector may not have freed yet, past the process's limit, it runs the
// collector first, so that a process that closes maps and creates others
// does not hold both in its heap.
func (b *Budget) charge(s *Spec, n uint64, what string, collect bool) error {
	for a := b; a != nil; a = a.parent {
		if left, ok := a.take(n); !ok {
			for u := b; u != a; u = u.parent {
				u.used.Add(-n)
			}
			return a.refusal(s, n, left, what)
		}
		if a.parent == nil && collect {
			a.collectGarbage()
		}
	}
	return nil
}

// collectGarbage runs the garbage collector if what maps hold and what
// freed maps gave back since the last collection exceed the limit.
func (b *Budget) collectGarbage() {
	g := b.garbage.Load()
	if g == 0 {
		return
	}
	var cycles [1]metrics.Sample
	cycles[0].Name = "/gc/cycles/total:gc-cycles"
	metrics.Read(cycles[:])
	b.mu.Lock()
	collected := cycles[0].Value.Kind() == metrics.KindUint64 && cycles[0].Value.Uint64() >= b.garbageCycle+2
	b.mu.Unlock()
	if collected {
		// A whole collection ran since the last map was freed.
		b.garbage.Add(-g)
		return
	}
	if b.used.Load()+g <= b.ready().limit.Load() {
		return
	}
	b.garbage.Add(-g)
	runtime.GC()
}

// refund gives n bytes back to b and every account above it.
func (b *Budget) refund(n uint64) {
	if n == 0 {
		return
	}
	for a := b; a != nil; a = a.parent {
		a.used.Add(-n)
		if a.parent == nil && n >= 1<<20 { // smaller amounts do not matter
			a.garbage.Add(n)
			var cycles [1]metrics.Sample
			cycles[0].Name = "/gc/cycles/total:gc-cycles"
			metrics.Read(cycles[:])
			if cycles[0].Value.Kind() == metrics.KindUint64 {
				a.mu.Lock()
				a.garbageCycle = cycles[0].Value.Uint64()
				a.mu.Unlock()
			}
		}
	}
}

// refusal is the ENOMEM of a charge that does not fit.
func (b *Budget) refusal(s *Spec, n, left uint64, what string) error {
	limit := b.ready().limit.Load()
	return specErrno(errNoMem, s, "%s need %d bytes of memory, more than the %d bytes left of the %d-byte (%s) memory limit of %s (%s)",
		whatOr(what), n, left, limit, FormatSize(limit), b.scope, b.Origin())
}

// errNoMem reports a map that would need more memory than waggle allows.
var errNoMem = &Error{errno.ENOMEM, "cannot allocate memory"}

// DefaultLimit is the default limit of the process's budget for maps, and
// where it comes from: half of the memory the process can have, which is
// the machine's (MemTotal), or less where the memory cgroup of the process
// has a limit (half of that), or where its address space is limited (a
// quarter of what RLIMIT_AS or RLIMIT_DATA leaves it, since the Go runtime
// reserves address space beyond what it uses and reading an object holds
// copies of its global data). Half, because what maps hold is not all a
// process needs: reading an object, programs' runs, Go's garbage collector
// (which frees a closed map's memory only after a while) and the rest of
// the process need room too, and the kernel's own vmalloc never gives one
// map more than all the memory. Where nothing is known, 64 GiB.
func DefaultLimit() (uint64, string) {
	status := procStatus()
	asRoom, dataRoom := rlimitRoom(status["VmSize"], status["VmData"])
	return defaultLimit(memTotal(), cgroupLimit(), asRoom, dataRoom)
}

// defaultLimit is DefaultLimit for a machine with mem bytes of memory, a
// cgroup limit, and the address space that RLIMIT_AS and RLIMIT_DATA leave
// the process (0: unknown or unlimited).
func defaultLimit(mem, cgroup, asRoom, dataRoom uint64) (uint64, string) {
	limit, origin := uint64(1<<36), "64 GiB, since the machine's memory is unknown"
	if mem > 0 {
		limit, origin = mem/2, "half of the machine's "+FormatSize(mem)
	}
	if cgroup > 0 && cgroup/2 < limit {
		limit, origin = cgroup/2, "half of the "+FormatSize(cgroup)+" memory limit of the process's cgroup"
	}
	if asRoom > 0 && asRoom/4 < limit {
		limit, origin = asRoom/4, "a quarter of the "+FormatSize(asRoom)+" of address space that RLIMIT_AS leaves the process"
	}
	if dataRoom > 0 && dataRoom/4 < limit {
		limit, origin = dataRoom/4, "a quarter of the "+FormatSize(dataRoom)+" of data that RLIMIT_DATA leaves the process"
	}
	return limit, origin
}

// procStatus reads the sizes (in bytes) of /proc/self/status.
func procStatus() map[string]uint64 {
	m := map[string]uint64{}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return m
	}
	for line := range strings.Lines(string(b)) {
		name, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || len(f) != 2 || f[1] != "kB" {
			continue
		}
		if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			m[name] = kb << 10
		}
	}
	return m
}

// memTotal is MemTotal of /proc/meminfo, or else the machine's memory as
// the system tells it (machineMemory), or 0.
func memTotal() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return machineMemory()
	}
	for line := range strings.Lines(string(b)) {
		var kb uint64
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil && kb > 0 {
			return kb << 10
		}
	}
	return 0
}

// cgroupLimit is the memory limit of the process's cgroup (v2 memory.max,
// v1 memory.limit_in_bytes), or 0 if it has none or it cannot be read.
func cgroupLimit() uint64 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	var limit uint64
	consider := func(path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		// v1 says "no limit" with a huge number (PAGE_COUNTER_MAX pages).
		if err != nil || v == 0 || v >= 1<<62 {
			return
		}
		if limit == 0 || v < limit {
			limit = v
		}
	}
	for line := range strings.Lines(string(b)) {
		// hierarchy-ID:controllers:path
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			consider("/sys/fs/cgroup" + f[2] + "/memory.max")
			consider("/sys/fs/cgroup/memory.max") // a cgroup namespace's root
		case hasController(f[1], "memory"):
			consider("/sys/fs/cgroup/memory" + f[2] + "/memory.limit_in_bytes")
			consider("/sys/fs/cgroup/memory/memory.limit_in_bytes")
		}
	}
	return limit
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// FormatSize writes a byte count in binary units: "12 GiB", "1.5 MiB",
// "4097 B".
func FormatSize(n uint64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v, u = v/1024, u+1
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[u]
}

// ParseSize reads a byte count: a number, optionally followed by K, M, G,
// T, P or E (binary multiples, 1024-based; KiB, MB, k... are accepted too).
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	if num == "" {
		return 0, fmt.Errorf("size %q: want a number of bytes, optionally with K, M, G or T (1024-based)", s)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err.(*strconv.NumError).Err)
	}
	shift := 0
	switch strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(unit), "B"), "I") {
	case "":
		if strings.EqualFold(unit, "iB") {
			return 0, fmt.Errorf("size %q: unknown unit %q (want K, M, G, T, P or E)", s, unit)
		}
	case "K":
		shift = 10
	case "M":
		shift = 20
	case "G":
		shift = 30
	case "T":
		shift = 40
	case "P":
		shift = 50
	case "E":
		shift = 60
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q (want K, M, G, T, P or E)", s, unit)
	}
	if n > math.MaxUint64>>shift {
		return 0, fmt.Errorf("size %q: more than 2^64 bytes", s)
	}
	return n << shift, nil
}

// Byte counts of allocations, saturating at the largest uint64 (which no
// budget covers) instead of wrapping around.

// satMul is a*b, or the largest uint64.
func satMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

// satAdd is the sum of ns, or the largest uint64.
func satAdd(ns ...uint64) uint64 {
	var sum uint64
	for _, n := range ns {
		var c uint64
		sum, c = bits.Add64(sum, n, 0)
		if c != 0 {
			return math.MaxUint64
		}
	}
	return sum
}

// heapBytes is what the Go heap takes for an allocation of n bytes: small
// objects take a size class (multiples of 8 up to 16 bytes, of 16 up to
// 128, then at most 1/8 more), large ones whole 8 KiB pages.
func heapBytes(n uint64) uint64 {
	switch {
	case n <= 16:
		return (n + 7) &^ 7
	case n <= 128:
		return (n + 15) &^ 15
	case n <= 32<<10:
		return (n + n/8 + 15) &^ 15
	default:
		return satAdd(n, 8<<10-1) &^ (8<<10 - 1)
	}
}

// plural is n with the singular or plural noun.
func plural(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatUint(n, 10) + " " + many
}

// mapOverhead is charged for every map on top of what its type allocates:
// the map's structure, its handle and its value region.
const mapOverhead = 1 << 10
