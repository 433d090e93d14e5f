package metrics

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
)

// MapView reads the entries of one map with the layouts of its BTF key and
// value types.
type MapView struct {
	Name  string
	Map   *waggle.Map
	Key   *Layout
	Value *Layout
}

// NewMapView prepares reading m, whose spec (from the object) gives the
// BTF types of its key and value; spec may be nil.
func NewMapView(name string, m *waggle.Map, spec *ebpf.MapSpec) *MapView {
	kt, vt := btfTypes(spec)
	return &MapView{Name: name, Map: m, Key: KeyLayout(kt, m.KeySize()), Value: ValueLayout(vt, m.ValueSize())}
}

func btfTypes(spec *ebpf.MapSpec) (key, value btf.Type) {
	if spec == nil {
		return nil, nil
	}
	return spec.Key, spec.Value
}

// Listable says whether the map's entries can be listed without changing
// the map: not for ring buffers, perf event arrays, queues and stacks
// (reading consumes their elements), prog arrays and maps of maps (their
// values are objects) and bloom filters (which cannot be listed).
func (v *MapView) Listable() bool {
	switch v.Map.Type() {
	case ebpf.RingBuf, ebpf.PerfEventArray, ebpf.Queue, ebpf.Stack,
		ebpf.ProgramArray, ebpf.ArrayOfMaps, ebpf.HashOfMaps, ebpf.BloomFilter:
		return false
	}
	return true
}

// PerCPU says whether the map keeps a value per CPU slot.
func (v *MapView) PerCPU() bool {
	switch v.Map.Type() {
	case ebpf.PerCPUArray, ebpf.PerCPUHash, ebpf.LRUCPUHash:
		return true
	}
	return false
}

// Entry is one element of a map.
type Entry struct {
	Key []byte
	// Values holds the value, or for per-CPU maps one value per CPU slot.
	Values [][]byte
}

// Number is value leaf i of the entry; for per-CPU maps, the sum over the
// CPU slots.
func (v *MapView) Number(e Entry, i int) (float64, bool) {
	f := &v.Value.Leaves[i]
	var sum float64
	for _, val := range e.Values {
		x, ok := f.Number(val)
		if !ok {
			return 0, false
		}
		sum += x
	}
	return sum, len(e.Values) > 0
}

// FormatValue formats value leaf i of the entry: for per-CPU maps, the sum
// of a numeric leaf over the CPU slots (as an integer when the leaf is
// one), and CPU slot 0's value of another.
func (v *MapView) FormatValue(e Entry, i int) string {
	f := &v.Value.Leaves[i]
	if len(e.Values) == 0 {
		return ""
	}
	if len(e.Values) == 1 || !f.Numeric() || f.Kind == Bool || f.Kind == Enum {
		return f.Format(e.Values[0])
	}
	if f.Kind == Float {
		x, _ := v.Number(e, i)
		return fmt.Sprint(x)
	}
	var su uint64
	var ss int64
	for _, val := range e.Values {
		x, _ := f.uint(val)
		su += x
		ss += signExtend(x, f.bits())
	}
	if f.Kind == Signed {
		return fmt.Sprint(ss)
	}
	return fmt.Sprint(su)
}

// Entries returns up to limit entries (limit <= 0: all) in the map's
// iteration order (index order for arrays), and whether the map holds more.
func (v *MapView) Entries(limit int) ([]Entry, bool, error) {
	if !v.Listable() {
		return nil, false, nil
	}
	it := v.Map.Iterate()
	var out []Entry
	for {
		var key []byte
		var e Entry
		var ok bool
		if v.PerCPU() {
			ok = it.Next(&key, &e.Values)
		} else {
			var val []byte
			ok = it.Next(&key, &val)
			e.Values = [][]byte{val}
		}
		if !ok {
			break
		}
		if limit > 0 && len(out) == limit {
			return out, true, nil
		}
		e.Key = key
		out = append(out, e)
	}
	if err := it.Err(); err != nil {
		return out, false, fmt.Errorf("map %s: %w", v.Name, err)
	}
	return out, false, nil
}

// MapOptions control the map metrics.
type MapOptions struct {
	// MaxEntries is the most entries of one map exported as series;
	// 0 means DefaultMaxEntries, a negative value no limit.
	MaxEntries int
	// Logf, if not nil, is told once per map that the map holds more
	// entries than MaxEntries.
	Logf func(format string, args ...any)
}

// DefaultMaxEntries is the default MapOptions.MaxEntries.
const DefaultMaxEntries = 1000

// Maps is a Collector of the entries of a collection's maps.
// Each listable map (see MapView.Listable) is one gauge family,
// waggle_map_<name> (the name reduced to letters, digits and
// underscores), with the labels:
//
//   - map: the map's name;
//   - one label per field of the key's BTF struct, named after the field
//     ("key_" added to names that would clash: map, field, or names
//     starting with "__"), or "key" for a key that is a plain integer or
//     has no BTF;
//   - field: for a value that is a struct, array or data section, the
//     numeric field the series shows ("packets", "counts[3]", a global
//     variable's name).
//
// The value is the number (for per-CPU maps, the sum over the CPU slots);
// fields that are not numbers (text, bytes, addresses) are left out.
// Formats are those of Layout. At most MaxEntries entries of a map are
// exported; waggle_map_truncated{map} is 1 for a map that holds more, and
// waggle_map_entries{map} is the number of entries exported.
//
// Maps reads the maps at each scrape: its families depend on the maps'
// contents.
type Maps struct {
	views []*mapMetrics
	opts  MapOptions

	mu     sync.Mutex
	warned map[string]bool
}

// mapMetrics is a map's view and its family.
type mapMetrics struct {
	view   *MapView
	name   string   // the family's name
	help   string   // its help text
	labels []string // the key labels, then "field" when the value has fields
	fields []int    // the value leaves exported: the numeric ones
}

// NewMaps exports the maps of coll, reading their key and value types from
// spec (nil: every key and value is raw bytes).
func NewMaps(coll *waggle.Collection, spec *ebpf.CollectionSpec, opts MapOptions) *Maps {
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	ms := &Maps{
		opts:   opts,
		warned: map[string]bool{},
	}
	names := make([]string, 0, len(coll.Maps))
	for name := range coll.Maps {
		names = append(names, name)
	}
	sort.Strings(names)
	used := map[string]bool{}
	for _, name := range names {
		var s *ebpf.MapSpec
		if spec != nil {
			s = spec.Maps[name]
		}
		v := NewMapView(name, coll.Maps[name], s)
		if !v.Listable() {
			continue
		}
		ms.views = append(ms.views, newMapMetrics(v, used))
	}
	return ms
}

func newMapMetrics(v *MapView, used map[string]bool) *mapMetrics {
	mm := &mapMetrics{view: v}
	taken := map[string]bool{"map": true}
	if v.Key.Scalar {
		mm.labels = append(mm.labels, "key")
		taken["key"] = true
	} else {
		for _, f := range v.Key.Leaves {
			l := LabelName(f.Name)
			if l == "field" || l == "map" || strings.HasPrefix(l, "__") || taken[l] {
				l = "key_" + strings.TrimLeft(l, "_")
			}
			for base, i := l, 2; taken[l]; i++ {
				l = fmt.Sprintf("%s_%d", base, i)
			}
			taken[l] = true
			mm.labels = append(mm.labels, l)
		}
	}
	for i := range v.Value.Leaves {
		if v.Value.Leaves[i].Numeric() {
			mm.fields = append(mm.fields, i)
		}
	}
	if !v.Value.Scalar {
		mm.labels = append(mm.labels, "field")
	}
	name := "waggle_map_" + strings.Trim(LabelName(v.Name), "_")
	for base, i := name, 2; used[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	used[name] = true
	help := fmt.Sprintf("Entries of map %s (%s): the value of each key", v.Name, v.Map.Type())
	if v.PerCPU() {
		help += ", summed over the CPU slots"
	}
	mm.name, mm.help = name, help+"."
	return mm
}

// LabelName reduces a field or map name to a Prometheus label name:
// letters, digits and underscores, not starting with a digit.
func LabelName(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// Collect reads every map and appends its family, and the entries and
// truncated families, to fams. A map that cannot be read is left out and
// named in the error.
func (ms *Maps) Collect(fams []Family) ([]Family, error) {
	entries := Family{Name: "waggle_map_entries", Help: "Entries of a map exported as series (at most the limit).", Type: Gauge}
	truncated := Family{Name: "waggle_map_truncated", Help: "1 when a map holds more entries than the limit of exported entries.", Type: Gauge}
	var errs []error
	for _, mm := range ms.views {
		es, more, err := mm.view.Entries(ms.opts.MaxEntries)
		if err != nil && !errors.Is(err, ebpf.ErrIterationAborted) {
			errs = append(errs, fmt.Errorf("metrics: %w", err))
			continue
		}
		if more {
			ms.warn(mm.view.Name, len(es))
		}
		mapLabel := []Label{{Name: "map", Value: mm.view.Name}}
		entries.Metrics = append(entries.Metrics, Metric{Labels: mapLabel, Value: float64(len(es))})
		truncated.Metrics = append(truncated.Metrics, Metric{Labels: mapLabel, Value: b2f(more)})
		fams = append(fams, mm.family(es))
	}
	return append(fams, entries, truncated), errors.Join(errs...)
}

// family is the map's family of entries es.
func (mm *mapMetrics) family(es []Entry) Family {
	v := mm.view
	f := Family{Name: mm.name, Help: mm.help, Type: Gauge}
	nk := len(v.Key.Leaves)
	for _, e := range es {
		keys := make([]string, nk)
		for i := range v.Key.Leaves {
			keys[i] = v.Key.Leaves[i].Format(e.Key)
		}
		for _, fi := range mm.fields {
			x, ok := v.Number(e, fi)
			if !ok {
				continue
			}
			labels := make([]Label, 0, len(mm.labels)+1)
			for i, k := range keys {
				labels = append(labels, Label{Name: mm.labels[i], Value: k})
			}
			if !v.Value.Scalar {
				labels = append(labels, Label{Name: "field", Value: v.Value.Leaves[fi].Name})
			}
			labels = append(labels, Label{Name: "map", Value: v.Name})
			f.Metrics = append(f.Metrics, Metric{Labels: labels, Value: x})
		}
	}
	return f
}

func (ms *Maps) warn(name string, n int) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.warned[name] || ms.opts.Logf == nil {
		return
	}
	ms.warned[name] = true
	ms.opts.Logf("metrics: map %s holds more than %d entries; only %d are exported (waggle_map_truncated{map=%q} is 1)", name, n, n, name)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
