package waggle

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/maps"
)

// checkReplacements refuses replacements for maps that spec does not
// have, as cilium/ebpf does.
func checkReplacements(mapSpecs map[string]*ebpf.MapSpec, replacements map[string]*Map) error {
	for _, name := range sortedKeys(replacements) {
		if _, ok := mapSpecs[name]; !ok {
			return fmt.Errorf("replacement map %s not found in CollectionSpec (it has %s)", name, strings.Join(sortedKeys(mapSpecs), ", "))
		}
	}
	return nil
}

// compatible says how a map differs from spec, as cilium/ebpf's
// MapSpec.Compatible does (type, key and value sizes, max entries,
// flags: a device map may have BPF_F_RDONLY_PROG that its spec lacks),
// with an error matching ebpf.ErrMapIncompatible; and for per-CPU maps,
// whether it has a value for each of the collection's CPU slots.
func compatible(spec *ebpf.MapSpec, m *Map, cpus int) error {
	want := internalSpec(spec, cpus) // max_entries of perf event arrays as created
	var diffs []string
	if m.typ != want.Type {
		diffs = append(diffs, fmt.Sprintf("Type: %s changed to %s", m.typ, want.Type))
	}
	if m.keySize != want.KeySize {
		diffs = append(diffs, fmt.Sprintf("KeySize: %d changed to %d", m.keySize, want.KeySize))
	}
	if m.valueSize != want.ValueSize {
		diffs = append(diffs, fmt.Sprintf("ValueSize: %d changed to %d", m.valueSize, want.ValueSize))
	}
	if m.maxEntries != want.MaxEntries {
		diffs = append(diffs, fmt.Sprintf("MaxEntries: %d changed to %d", m.maxEntries, want.MaxEntries))
	}
	flags := want.Flags
	if want.Type == ebpf.DevMap || want.Type == ebpf.DevMapHash {
		flags |= m.flags & readOnlyProg
	}
	if m.flags != flags {
		diffs = append(diffs, fmt.Sprintf("Flags: %d changed to %d", m.flags, flags))
	}
	if m.percpu && m.cpus != cpus {
		diffs = append(diffs, fmt.Sprintf("CPUs: %d changed to %d (the collection's CPU slots)", m.cpus, cpus))
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", strings.Join(diffs, ", "), ebpf.ErrMapIncompatible)
}

// replacementMap is what a collection holds for a map of
// CollectionOptions.MapReplacements: after checking it against its spec,
// a new reference on the same map (cilium/ebpf's Map.Clone), which
// Collection.Close drops, leaving the caller's open.
func replacementMap(name string, spec *ebpf.MapSpec, r *Map, cpus int) (*Map, error) {
	if r == nil {
		return nil, fmt.Errorf("using replacement map %s: the map is nil", name)
	}
	if r.closed.Load() {
		return nil, fmt.Errorf("using replacement map %s: %w", name, r.errClosed("replace"))
	}
	if err := compatible(spec, r, cpus); err != nil {
		return nil, fmt.Errorf("using replacement map %s: %w", name, err)
	}
	if !maps.Retain(r.impl) {
		return nil, fmt.Errorf("using replacement map %s: %w", name, r.errClosed("replace"))
	}
	m := wrapMap(r.impl, true)
	m.progClaim.Store(r.progClaim.Load())
	return m, nil
}
