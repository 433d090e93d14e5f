package waggle_test

import (
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// readSpec reads an object of testdata/objects or examples as a
// waggle.CollectionSpec.
func readSpec(t *testing.T, path string) *waggle.CollectionSpec {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spec, err := waggle.ReadCollectionSpec(f)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// variablesObjects is what bpf2go generates for testdata/objects/variables.o,
// with waggle's types, embedded as bpf2go embeds them.
type variablesObjects struct {
	variablesPrograms
	variablesMaps
	variablesVariables
}

type variablesPrograms struct {
	XdpDropAfter *waggle.Program `ebpf:"xdp_drop_after"`
}

type variablesMaps struct {
	Bss *waggle.Map `ebpf:".bss"`
}

type variablesVariables struct {
	DropAfter *waggle.Variable `ebpf:"drop_after"`
	Packets   *waggle.Variable `ebpf:"packets"`
	Verdict   *waggle.Variable `ebpf:"verdict"`
}

func (o *variablesObjects) Close() {
	o.XdpDropAfter.Close()
	o.Bss.Close()
}

// TestLoadAndAssign loads variables.o as a cilium/ebpf user does with
// bpf2go's code: a variable set in the spec before loading, then the
// program run and the variables read and written through the struct.
func TestLoadAndAssign(t *testing.T) {
	spec := readSpec(t, objectPath("variables.o"))
	if err := spec.Variables["drop_after"].Set(uint32(2)); err != nil {
		t.Fatal(err)
	}
	var objs variablesObjects
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		t.Fatal(err)
	}
	defer objs.Close()

	frame := kerneltest.FrameTCP4()
	for i, want := range []uint32{2, 2, 1} { // XDP_PASS, XDP_PASS, XDP_DROP
		ret, _, err := objs.XdpDropAfter.Test(frame)
		if err != nil {
			t.Fatal(err)
		}
		if ret != want {
			t.Errorf("run %d: returned %d, want %d", i+1, ret, want)
		}
	}
	var packets uint64
	if err := objs.Packets.Get(&packets); err != nil {
		t.Fatal(err)
	}
	if packets != 3 {
		t.Errorf("packets = %d, want 3", packets)
	}
	if !objs.DropAfter.ReadOnly() {
		t.Error("drop_after, in .rodata, is not read-only")
	}
	// The .bss map and the variable are the same memory.
	var bss uint64
	if err := objs.Bss.Lookup(uint32(0), &bss); err != nil {
		t.Fatal(err)
	}
	if bss != packets {
		t.Errorf(".bss holds %d, the variable %d", bss, packets)
	}
	if err := objs.Verdict.Set(uint32(1)); err != nil {
		t.Fatal(err)
	}
	if err := spec.Variables["drop_after"].Set(uint32(0)); err != nil {
		t.Fatal(err)
	}
	ret, _, err := objs.XdpDropAfter.Test(frame)
	if err != nil {
		t.Fatal(err)
	}
	if ret != 1 {
		t.Errorf("after a change to the spec (no effect once loaded), returned %d, want 1 (XDP_DROP)", ret)
	}
}

// tailCallsObjects asks for part of examples/tail_calls: the dispatcher,
// which pulls in the maps it uses and the handlers its prog_array names.
type tailCallsObjects struct {
	Dispatcher *waggle.Program `ebpf:"dispatcher"`
	Handlers   *waggle.Map     `ebpf:"handlers"`
	Counts     *waggle.Map     `ebpf:"counts"`
}

func TestLoadAndAssignDependencies(t *testing.T) {
	spec := readSpec(t, "examples/tail_calls/tail_calls.o")
	var objs tailCallsObjects
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		t.Fatal(err)
	}
	defer objs.Dispatcher.Close()
	defer objs.Handlers.Close()
	defer objs.Counts.Close()
	ret, _, err := objs.Dispatcher.Test(kerneltest.FrameICMP4())
	if err != nil {
		t.Fatal(err)
	}
	if ret != 1 {
		t.Errorf("ICMP: returned %d, want 1 (XDP_DROP from handle_icmp, reached by a tail call)", ret)
	}
	var icmp uint64
	if err := objs.Counts.Lookup(uint32(2), &icmp); err != nil {
		t.Fatal(err)
	}
	if icmp != 1 {
		t.Errorf("counts[2] = %d, want 1", icmp)
	}

	// Without the prog_array, which the object fills, tail calls would
	// fail once it is closed: refused as cilium/ebpf refuses it.
	var partial struct {
		Dispatcher *waggle.Program `ebpf:"dispatcher"`
	}
	err = spec.LoadAndAssign(&partial, nil)
	if err == nil || !strings.Contains(err.Error(), "prog_array handlers") {
		t.Errorf("dispatcher without handlers: got %v, want an error naming prog_array handlers", err)
	}
	if partial.Dispatcher != nil {
		t.Error("a failed LoadAndAssign assigned the dispatcher")
	}
}

// TestLoadAndAssignOnlyWhatIsAsked loads one 64 MiB map of many_maps.o
// (512 MiB in all) under a limit that the whole object exceeds.
func TestLoadAndAssignOnlyWhatIsAsked(t *testing.T) {
	spec := readSpec(t, objectPath("many_maps.o"))
	var one struct {
		Chunk *waggle.Map `ebpf:"chunk3"`
	}
	if err := spec.LoadAndAssign(&one, &waggle.CollectionOptions{MemoryLimit: 80 << 20}); err != nil {
		t.Fatalf("one map: %v", err)
	}
	defer one.Chunk.Close()
	if one.Chunk.Name() != "chunk3" {
		t.Errorf("assigned map %s, want chunk3", one.Chunk.Name())
	}
	var prog struct {
		P *waggle.Program `ebpf:"xdp_many_maps"`
	}
	err := spec.LoadAndAssign(&prog, &waggle.CollectionOptions{MemoryLimit: 80 << 20})
	if err == nil {
		prog.P.Close()
		t.Fatal("the program with its eight maps loaded under an 80 MiB limit")
	}
}

func TestLoadAndAssignMapReplacements(t *testing.T) {
	spec := readSpec(t, "examples/tail_calls/tail_calls.o")
	counts, err := waggle.NewMap(spec.Maps["counts"])
	if err != nil {
		t.Fatal(err)
	}
	defer counts.Close()
	var objs tailCallsObjects
	opts := &waggle.CollectionOptions{MapReplacements: map[string]*waggle.Map{"counts": counts}}
	if err := spec.LoadAndAssign(&objs, opts); err != nil {
		t.Fatal(err)
	}
	defer objs.Dispatcher.Close()
	defer objs.Handlers.Close()
	defer objs.Counts.Close()
	if _, _, err := objs.Dispatcher.Test(kerneltest.FrameUDP4()); err != nil {
		t.Fatal(err)
	}
	var udp uint64
	if err := counts.Lookup(uint32(1), &udp); err != nil {
		t.Fatal(err)
	}
	if udp != 1 {
		t.Errorf("the replacement's counts[1] = %d, want 1", udp)
	}

	opts.MapReplacements = map[string]*waggle.Map{"nope": counts}
	if err := spec.LoadAndAssign(&objs, opts); err == nil || !strings.Contains(err.Error(), "replacement map nope") {
		t.Errorf("a replacement of no map: got %v", err)
	}
}

// TestAssignErrors checks that every bad destination is refused with an
// error naming the field and what is wrong, by LoadAndAssign and by
// Collection.Assign alike.
func TestAssignErrors(t *testing.T) {
	type inner struct {
		Counts *waggle.Map `ebpf:"counts"`
	}
	for _, tc := range []struct {
		name string
		to   any
		want string
	}{
		{"nil", nil, "the destination is nil"},
		{"not a pointer", tailCallsObjects{}, "not a pointer to a struct"},
		{"pointer to a map", &map[string]int{}, "not a pointer to a struct"},
		{"nil pointer", (*tailCallsObjects)(nil), "nil *waggle_test.tailCallsObjects"},
		{"cilium's type", &struct {
			M *ebpf.Map `ebpf:"counts"`
		}{}, "field M (ebpf:\"counts\"): type *ebpf.Map cannot be assigned; waggle assigns *waggle.Program, *waggle.Map and *waggle.Variable (this is cilium/ebpf's: convert code that bpf2go generated with `waggle gen`)"},
		{"a spec", &struct {
			P *ebpf.ProgramSpec `ebpf:"dispatcher"`
		}{}, "specs are assigned by CollectionSpec.Assign"},
		{"an int", &struct {
			N int `ebpf:"counts"`
		}{}, "field N (ebpf:\"counts\"): type int cannot be assigned"},
		{"missing program", &struct {
			P *waggle.Program `ebpf:"handle_sctp"`
		}{}, "field P (ebpf:\"handle_sctp\"): the "},
		{"missing map", &struct {
			Inner inner
			M     *waggle.Map `ebpf:"stats"`
		}{}, "field M (ebpf:\"stats\"): the "},
		{"twice", &struct {
			A *waggle.Map `ebpf:"counts"`
			B inner
		}{}, "field B.Counts (ebpf:\"counts\"): map \"counts\" is already assigned to field A"},
		{"comma", &struct {
			A *waggle.Map `ebpf:"counts,omitempty"`
		}{}, "the tag has a comma"},
		{"unexported", &struct {
			a *waggle.Map `ebpf:"counts"`
		}{}, "field a (ebpf:\"counts\"): the field is not exported"},
		{"nil embedded pointer", &struct {
			*inner
		}{}, "field inner: nil pointer to waggle_test.inner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := readSpec(t, "examples/tail_calls/tail_calls.o")
			err := spec.LoadAndAssign(tc.to, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadAndAssign: got %v, want an error containing %q", err, tc.want)
			}
			coll, err := waggle.NewCollection(spec.CollectionSpec)
			if err != nil {
				t.Fatal(err)
			}
			defer coll.Close()
			before := len(coll.Programs) + len(coll.Maps)
			err = coll.Assign(tc.to)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Assign: got %v, want an error containing %q", err, tc.want)
			}
			if after := len(coll.Programs) + len(coll.Maps); after != before {
				t.Errorf("a failed Assign took %d objects out of the collection", before-after)
			}
		})
	}
}

// TestCollectionAssign moves objects out of a collection: Close leaves
// them open.
func TestCollectionAssign(t *testing.T) {
	spec := readSpec(t, objectPath("variables.o"))
	coll, err := waggle.NewCollection(spec.CollectionSpec)
	if err != nil {
		t.Fatal(err)
	}
	var objs variablesObjects
	if err := coll.Assign(&objs); err != nil {
		coll.Close()
		t.Fatal(err)
	}
	if len(coll.Programs) != 0 || len(coll.Variables) != 0 || len(coll.Maps) != len(spec.Maps)-1 || coll.Maps[".bss"] != nil {
		t.Errorf("after Assign the collection keeps %d programs, %d maps (.bss: %v), %d variables; want 0, %d (not .bss), 0",
			len(coll.Programs), len(coll.Maps), coll.Maps[".bss"] != nil, len(coll.Variables), len(spec.Maps)-1)
	}
	coll.Close()
	defer objs.Close()
	if _, _, err := objs.XdpDropAfter.Test(kerneltest.FrameTCP4()); err != nil {
		t.Errorf("the assigned program after the collection's Close: %v", err)
	}
	if err := objs.Packets.Set(uint64(7)); err != nil {
		t.Errorf("the assigned variable after the collection's Close: %v", err)
	}
	// The spec's Copy stays a waggle spec.
	var again variablesObjects
	if err := spec.Copy().LoadAndAssign(&again, nil); err != nil {
		t.Fatal(err)
	}
	again.Close()
	var nilSpec *waggle.CollectionSpec
	if err := nilSpec.LoadAndAssign(&again, nil); err == nil {
		t.Error("LoadAndAssign of a nil spec succeeded")
	}
	if _, err := waggle.ReadCollectionSpec(strings.NewReader("not an object")); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadCollectionSpec of text: %v", err)
	}
}

// TestLoadAndAssignAgainstKernel loads the same structs, with cilium/ebpf's
// types, into the kernel with cilium/ebpf's LoadAndAssign: waggle's must
// succeed and fail where cilium/ebpf's does, and the programs must return
// the same on the same frame.
func TestLoadAndAssignAgainstKernel(t *testing.T) {
	if err := kerneltest.Available(); err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		name, object string
		waggle       func() any
		kernel       func() any
		prog         string // the program to run, when both load
	}{
		{"dispatcher with its maps", "examples/tail_calls/tail_calls.o",
			func() any { return &tailCallsObjects{} },
			func() any {
				return &struct {
					Dispatcher *ebpf.Program `ebpf:"dispatcher"`
					Handlers   *ebpf.Map     `ebpf:"handlers"`
					Counts     *ebpf.Map     `ebpf:"counts"`
				}{}
			}, "Dispatcher"},
		{"dispatcher without its prog_array", "examples/tail_calls/tail_calls.o",
			func() any {
				return &struct {
					Dispatcher *waggle.Program `ebpf:"dispatcher"`
				}{}
			},
			func() any {
				return &struct {
					Dispatcher *ebpf.Program `ebpf:"dispatcher"`
				}{}
			}, ""},
		{"a handler alone", "examples/tail_calls/tail_calls.o",
			func() any {
				return &struct {
					Handler *waggle.Program `ebpf:"handle_icmp"`
				}{}
			},
			func() any {
				return &struct {
					Handler *ebpf.Program `ebpf:"handle_icmp"`
				}{}
			}, "Handler"},
		{"a program of no object", "examples/tail_calls/tail_calls.o",
			func() any {
				return &struct {
					P *waggle.Program `ebpf:"handle_sctp"`
				}{}
			},
			func() any {
				return &struct {
					P *ebpf.Program `ebpf:"handle_sctp"`
				}{}
			}, ""},
		{"variables", objectPath("variables.o"),
			func() any { return &variablesObjects{} },
			func() any {
				return &struct {
					XdpDropAfter *ebpf.Program  `ebpf:"xdp_drop_after"`
					Bss          *ebpf.Map      `ebpf:".bss"`
					DropAfter    *ebpf.Variable `ebpf:"drop_after"`
					Packets      *ebpf.Variable `ebpf:"packets"`
					Verdict      *ebpf.Variable `ebpf:"verdict"`
				}{}
			}, "XdpDropAfter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kspec, err := ebpf.LoadCollectionSpec(tc.object)
			if err != nil {
				t.Fatal(err)
			}
			kobjs := tc.kernel()
			kerr := kspec.LoadAndAssign(kobjs, nil)
			defer closeFields(kobjs)
			wobjs := tc.waggle()
			werr := readSpec(t, tc.object).LoadAndAssign(wobjs, nil)
			defer closeFields(wobjs)
			if (kerr == nil) != (werr == nil) {
				t.Fatalf("the kernel: %v; waggle: %v", kerr, werr)
			}
			if kerr != nil || tc.prog == "" {
				return
			}
			frame := kerneltest.FrameICMP4()
			kret, _, err := field(kobjs, tc.prog).(*ebpf.Program).Test(frame)
			if err != nil {
				t.Fatal(err)
			}
			wret, _, err := field(wobjs, tc.prog).(*waggle.Program).Test(frame)
			if err != nil {
				t.Fatal(err)
			}
			if kret != wret {
				t.Errorf("the kernel's program returned %d, waggle's %d", kret, wret)
			}
		})
	}
}

// field is the named field of the struct p points to, searching embedded
// structs.
func field(p any, name string) any {
	return reflect.ValueOf(p).Elem().FieldByName(name).Interface()
}

// closeFields closes every io.Closer field of the struct p points to and
// of the structs it embeds.
func closeFields(p any) {
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			f := v.Field(i)
			if f.Kind() == reflect.Struct {
				walk(f)
				continue
			}
			if !f.CanInterface() || f.IsNil() {
				continue
			}
			if c, ok := f.Interface().(io.Closer); ok {
				c.Close()
			}
		}
	}
	walk(reflect.ValueOf(p).Elem())
}
