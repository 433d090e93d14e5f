package kerneltest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
)

// What the host kernel has: kernels are built with different
// configurations and versions, and a kernel may lack a program type, a
// helper for a program type, or a map type that waggle's cases use. The
// tests that compare with the kernel skip a case whose program or map the
// kernel refuses because it lacks one (found by probing the kernel with a
// minimal program or map, cilium/ebpf's features package), with the reason;
// any other refusal still fails them.

// UnsupportedError is a refusal of the host kernel that a missing feature
// explains.
type UnsupportedError struct {
	// Kernel is the kernel's release (uname -r).
	Kernel string
	// Feature says what the kernel lacks, in words: "the helper
	// bpf_xdp_adjust_meta#54 for XDP programs", "the map type RingBuf".
	Feature string
	// Program is the program that needs the feature, "" for a map.
	Program string
	// Probe is what probing the kernel for the feature gave: an error
	// that wraps ebpf.ErrNotSupported.
	Probe error
	// Err is the kernel's refusal that the missing feature explains; nil
	// when the feature was probed before anything was loaded.
	Err error
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kernel %s lacks %s (probe: %v)", e.Kernel, e.Feature, e.Probe)
	if e.Program != "" {
		fmt.Fprintf(&b, ", which program %s needs", e.Program)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap gives the refusal and the probe's error.
func (e *UnsupportedError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Probe}
	}
	return []error{e.Err, e.Probe}
}

// SkipIfUnsupported skips the test, with the reason, when err is or wraps
// an *UnsupportedError: the host kernel lacks a feature the case needs.
// Otherwise it does nothing.
func SkipIfUnsupported(tb testing.TB, err error) {
	tb.Helper()
	var ue *UnsupportedError
	if errors.As(err, &ue) {
		tb.Skipf("skipped: %v", firstLine(ue.Error()))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// Release is the host kernel's release, as uname -r prints it.
func Release() string { return release() }

// HelperName is the kernel's name of a helper, as its verifier prints it:
// "bpf_xdp_adjust_meta#54".
func HelperName(fn asm.BuiltinFunc) string {
	name, ok := strings.CutPrefix(fn.String(), "Fn")
	if !ok {
		return fmt.Sprintf("helper#%d", int32(fn))
	}
	var b strings.Builder
	b.WriteString("bpf_")
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	fmt.Fprintf(&b, "#%d", int32(fn))
	return b.String()
}

// ProgramLacks probes the host kernel for what a program of type typ with
// instructions insns needs: its program type and every helper it calls
// for that type. It returns an *UnsupportedError for the first one the
// kernel lacks (its Program is name), nil when the kernel has them all,
// and an error when a probe itself fails.
func ProgramLacks(name string, typ ebpf.ProgramType, insns asm.Instructions) (*UnsupportedError, error) {
	if err := features.HaveProgramType(typ); err != nil {
		if !errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("kerneltest: probing program type %s: %w", typ, err)
		}
		return &UnsupportedError{Kernel: Release(), Feature: "the program type " + typ.String(), Program: name, Probe: err}, nil
	}
	seen := map[asm.BuiltinFunc]bool{}
	for _, ins := range insns {
		if !ins.IsBuiltinCall() {
			continue
		}
		fn := asm.BuiltinFunc(ins.Constant)
		if seen[fn] {
			continue
		}
		seen[fn] = true
		err := features.HaveProgramHelper(typ, fn)
		if err == nil {
			continue
		}
		if !errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("kerneltest: probing %s for %s programs: %w", HelperName(fn), typ, err)
		}
		return &UnsupportedError{Kernel: Release(), Feature: fmt.Sprintf("the helper %s for %s programs", HelperName(fn), typ), Program: name, Probe: err}, nil
	}
	return nil, nil
}

// MapLacks probes the host kernel for a map type; see ProgramLacks.
func MapLacks(typ ebpf.MapType) (*UnsupportedError, error) {
	err := features.HaveMapType(typ)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, ebpf.ErrNotSupported) {
		return nil, fmt.Errorf("kerneltest: probing map type %s: %w", typ, err)
	}
	return &UnsupportedError{Kernel: Release(), Feature: "the map type " + typ.String(), Probe: err}, nil
}

// lacks probes the host kernel for every map's and every program's needs
// in spec, and returns what each map cannot have (its type, or its inner
// map's) and what each program cannot have: the first missing feature of
// the program itself or of a map it refers to.
func lacks(spec *ebpf.CollectionSpec) (progs, maps map[string]*UnsupportedError, err error) {
	maps = map[string]*UnsupportedError{}
	for name, ms := range spec.Maps {
		ue, err := MapLacks(ms.Type)
		if err != nil {
			return nil, nil, err
		}
		if ue == nil && ms.InnerMap != nil {
			if ue, err = MapLacks(ms.InnerMap.Type); err != nil {
				return nil, nil, err
			}
		}
		if ue != nil {
			maps[name] = ue
		}
	}
	progs = map[string]*UnsupportedError{}
	for name, ps := range spec.Programs {
		ue, err := ProgramLacks(name, ps.Type, ps.Instructions)
		if err != nil {
			return nil, nil, err
		}
		if ue == nil {
			for _, ins := range ps.Instructions {
				if m := maps[ins.Reference()]; m != nil && ins.IsLoadFromMap() {
					c := *m
					c.Program = name
					ue = &c
					break
				}
			}
		}
		if ue != nil {
			progs[name] = ue
		}
	}
	return progs, maps, nil
}

// LoadCollection loads spec into the kernel as ebpf.NewCollection does,
// for a test that runs its program prog and looks at the maps named. When
// the kernel refuses the object and probing explains the refusal — a
// program or map of the object needs a program type, a helper or a map
// type this kernel lacks — what needs the missing features is left out
// (programs, maps, and the prog array and map-in-map slots that name them)
// and the rest is loaded; if prog or one of the maps named is left out,
// the error is an *UnsupportedError (see SkipIfUnsupported). A refusal
// that no missing feature explains is returned as it is. Off Linux, and
// under user-mode emulation (EmulatedEnv), it loads nothing and returns an
// *UnsupportedError.
func LoadCollection(spec *ebpf.CollectionSpec, opts ebpf.CollectionOptions, prog string, maps ...string) (*ebpf.Collection, error) {
	if err := foreignKernel(); err != nil {
		return nil, &UnsupportedError{Kernel: Release(), Feature: "a kernel that runs this machine's programs", Program: prog,
			Probe: fmt.Errorf("%w: %w", err, ebpf.ErrNotSupported)}
	}
	coll, refusal := ebpf.NewCollectionWithOptions(spec, opts)
	if refusal == nil {
		return coll, nil
	}
	missingProgs, missingMaps, err := lacks(spec)
	if err != nil {
		return nil, errors.Join(refusal, err)
	}
	if len(missingProgs) == 0 && len(missingMaps) == 0 {
		return nil, refusal
	}
	ue := missingProgs[prog]
	for _, name := range maps {
		if ue == nil {
			ue = missingMaps[name]
		}
	}
	if ue != nil {
		ue.Err = refusal
		return nil, ue
	}
	reduced := spec.Copy()
	var left []string
	for name := range missingProgs {
		delete(reduced.Programs, name)
		left = append(left, "program "+name)
	}
	for name := range missingMaps {
		delete(reduced.Maps, name)
		left = append(left, "map "+name)
	}
	sort.Strings(left)
	for _, ms := range reduced.Maps {
		if len(ms.Contents) == 0 {
			continue
		}
		kept := ms.Contents[:0]
		for _, kv := range ms.Contents {
			if name, ok := kv.Value.(string); ok && (missingProgs[name] != nil || missingMaps[name] != nil) {
				continue
			}
			kept = append(kept, kv)
		}
		ms.Contents = kept
	}
	coll, err = ebpf.NewCollectionWithOptions(reduced, opts)
	if err != nil {
		return nil, fmt.Errorf("%w (after leaving out %s, which this kernel cannot load: %v)", err, strings.Join(left, ", "), firstLine(refusal.Error()))
	}
	return coll, nil
}
