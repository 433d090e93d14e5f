package waggle_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// xdpTX is XDP_TX (xdpDrop and xdpPass are in bench_engines_test.go).
const xdpTX = 3

// verdicts runs a program on n 64-byte packets and returns its verdicts.
func verdicts(t *testing.T, run func([]byte) (uint32, error), n int) []uint32 {
	t.Helper()
	var got []uint32
	for range n {
		v, err := run(make([]byte, 64))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	return got
}

func equalVerdicts(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestVariablesSetBeforeLoad: values set through CollectionSpec.Variables
// reach the programs (a const volatile in .rodata, which the verifier also
// sees), as with cilium/ebpf in the kernel; the spec itself is not changed.
func TestVariablesSetBeforeLoad(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dropAfter uint32
		want      []uint32
	}{
		{"unset", 0, []uint32{xdpPass, xdpPass, xdpPass, xdpPass, xdpPass}},
		{"drop after 2", 2, []uint32{xdpPass, xdpPass, xdpDrop, xdpDrop, xdpDrop}},
		{"drop after 4", 4, []uint32{xdpPass, xdpPass, xdpPass, xdpPass, xdpDrop}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := waggle.LoadCollectionSpec(objectPath("variables.o"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.dropAfter != 0 {
				if err := spec.Variables["drop_after"].Set(tc.dropAfter); err != nil {
					t.Fatal(err)
				}
			}
			for _, engine := range []waggle.Engine{waggle.EngineInterpreter, waggle.EngineAuto} {
				coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: engine})
				if err != nil {
					t.Fatal(err)
				}
				p := coll.Programs["xdp_drop_after"]
				got := verdicts(t, func(b []byte) (uint32, error) {
					return p.Run(&waggle.RunOptions{Data: b})
				}, len(tc.want))
				coll.Close()
				if !equalVerdicts(got, tc.want) {
					t.Errorf("%s: verdicts %v, want %v", engine, got, tc.want)
				}
			}
			if b := spec.Maps[".rodata"].Contents[0].Value.([]byte); b[0] != 0 {
				t.Errorf("NewCollection changed the spec's .rodata: %v", b)
			}
			if err := kerneltest.Available(); err != nil {
				t.Logf("not compared with the kernel: %v", err)
				return
			}
			kcoll, err := ebpf.NewCollection(spec)
			if err != nil {
				t.Fatalf("kernel: %v", err)
			}
			defer kcoll.Close()
			kernel := verdicts(t, func(b []byte) (uint32, error) {
				ret, _, err := kcoll.Programs["xdp_drop_after"].Test(b)
				return ret, err
			}, len(tc.want))
			if !equalVerdicts(kernel, tc.want) {
				t.Errorf("the kernel's verdicts %v, want %v", kernel, tc.want)
			}
		})
	}
}

// TestCollectionVariables: Collection.Variables reads and writes the
// memory the programs use; .rodata variables and the .rodata map are
// frozen.
func TestCollectionVariables(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec(objectPath("variables.o"))
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Variables["drop_after"].Set(uint32(1)); err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	p := coll.Programs["xdp_drop_after"]
	run := func(b []byte) (uint32, error) {
		return p.Run(&waggle.RunOptions{Data: b})
	}
	if got := verdicts(t, run, 2); !equalVerdicts(got, []uint32{xdpPass, xdpDrop}) {
		t.Fatalf("verdicts %v, want [PASS DROP]", got)
	}
	packets, verdict, dropAfter := coll.Variables["packets"], coll.Variables["verdict"], coll.Variables["drop_after"]
	if packets == nil || verdict == nil || dropAfter == nil {
		t.Fatalf("Variables: %v", coll.Variables)
	}
	var n uint64
	if err := packets.Get(&n); err != nil || n != 2 {
		t.Fatalf("packets: %d, %v; want 2", n, err)
	}
	var d uint32
	if err := dropAfter.Get(&d); err != nil || d != 1 || !dropAfter.ReadOnly() || packets.ReadOnly() {
		t.Fatalf("drop_after: %d, %v, read-only %v; packets read-only %v", d, err, dropAfter.ReadOnly(), packets.ReadOnly())
	}
	// Start counting again, and pass with XDP_TX.
	if err := packets.Set(uint64(0)); err != nil {
		t.Fatal(err)
	}
	if err := verdict.Set(uint32(xdpTX)); err != nil {
		t.Fatal(err)
	}
	if got := verdicts(t, run, 2); !equalVerdicts(got, []uint32{xdpTX, xdpDrop}) {
		t.Fatalf("after Set: verdicts %v, want [TX DROP]", got)
	}
	if err := dropAfter.Set(uint32(9)); !errors.Is(err, ebpf.ErrReadOnly) {
		t.Fatalf("set a .rodata variable: %v, want ErrReadOnly", err)
	}
	if err := packets.Set(uint32(1)); err == nil || !strings.Contains(err.Error(), "packets") {
		t.Fatalf("set 4 bytes into an 8-byte variable: %v", err)
	}
	if err := coll.Maps[".rodata"].Put(uint32(0), make([]byte, 4)); !errors.Is(err, errno.EPERM) {
		t.Fatalf("update of the frozen .rodata map: %v, want EPERM", err)
	}
	coll.Close()
	if err := packets.Get(&n); err == nil {
		t.Fatal("Get after Close succeeded")
	}
}

// TestVariablesErrors: a variable that does not fit its section is an
// error naming it, not a silent truncation; a variable whose section is
// not a map of the spec is left out, as cilium/ebpf leaves it.
func TestVariablesErrors(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec(objectPath("variables.o"))
	if err != nil {
		t.Fatal(err)
	}
	v := spec.Variables["verdict"]
	v.Value = make([]byte, 64)
	if _, err := waggle.NewCollection(spec); err == nil || !strings.Contains(err.Error(), "variable verdict") {
		t.Fatalf("an oversized variable: %v", err)
	}
	v.Value = make([]byte, 4)
	v.SectionName = ".data.missing"
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatalf("a variable of a missing section: %v", err)
	}
	defer coll.Close()
	if v, ok := coll.Variables["verdict"]; ok {
		t.Fatalf("a variable of a missing section is in Collection.Variables: %v", v)
	}
}
