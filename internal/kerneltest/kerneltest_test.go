package kerneltest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

var update = flag.Bool("update", false, "rewrite the examples' packet.bin files")

func needKernel(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("the kernel cannot run eBPF programs here: %v", err)
	}
}

// objects returns the repository-relative paths of the committed objects
// that must load: testdata/progs/*.o and examples/*/*.o.
func objects(t *testing.T) []string {
	t.Helper()
	root := RepoRoot()
	var objs []string
	for _, pattern := range []string{"testdata/progs/*.o", "examples/*/*.o"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(root, p)
			objs = append(objs, filepath.ToSlash(rel))
		}
	}
	if len(objs) < 24 {
		t.Fatalf("found only %d objects", len(objs))
	}
	sort.Strings(objs)
	return objs
}

func TestCases(t *testing.T) {
	needKernel(t)
	names := map[string]bool{}
	for _, c := range Cases() {
		c := c
		if names[c.Name] {
			t.Errorf("duplicate case name %s", c.Name)
		}
		names[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			spec, err := ebpf.LoadCollectionSpec(c.ObjectPath())
			if err != nil {
				t.Fatal(err)
			}
			ps := spec.Programs[c.Program]
			if ps == nil {
				t.Fatalf("no program %s in %s", c.Program, c.Object)
			}
			if ps.Type != c.Type {
				t.Fatalf("program type %s, the case says %s", ps.Type, c.Type)
			}
			r, err := Run(c.ObjectPath(), c.Program, c.Input())
			if err != nil {
				SkipIfUnsupported(t, err)
				t.Fatal(err)
			}
			if err := c.Check(r); err != nil {
				t.Errorf("%v\n(retval %d, cpu %d of %d)", err, r.Retval, r.CPU, r.NumCPU)
			}
		})
	}
}

// TestEveryProgramHasACase checks that the case table covers every program
// of every committed object.
func TestEveryProgramHasACase(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range Cases() {
		covered[c.Object+":"+c.Program] = true
	}
	// Programs reached only by tail calls are covered by their dispatcher.
	tailOnly := map[string]bool{
		"testdata/progs/tail_calls.o:handle_ipv4":      true,
		"testdata/progs/tail_calls.o:handle_ipv6":      true,
		"testdata/progs/tail_calls.o:xdp_chain":        true,
		"testdata/progs/tail_calls.o:handle_sub":       true,
		"examples/tail_calls/tail_calls.o:handle_tcp":  true,
		"examples/tail_calls/tail_calls.o:handle_udp":  true,
		"examples/tail_calls/tail_calls.o:handle_icmp": true,
	}
	for _, obj := range objects(t) {
		spec, err := ebpf.LoadCollectionSpec(filepath.Join(RepoRoot(), obj))
		if err != nil {
			t.Fatal(err)
		}
		for name := range spec.Programs {
			key := obj + ":" + name
			if !covered[key] && !tailOnly[key] {
				t.Errorf("no case runs %s", key)
			}
		}
	}
}

func TestVerifyAccepts(t *testing.T) {
	needKernel(t)
	for _, obj := range objects(t) {
		t.Run(obj, func(t *testing.T) {
			verdicts, err := Verify(filepath.Join(RepoRoot(), obj))
			if err != nil {
				SkipIfUnsupported(t, err)
				t.Fatal(err)
			}
			for _, prog := range sortedKeys(verdicts) {
				t.Run(prog, func(t *testing.T) {
					if err := verdicts[prog]; err != nil {
						SkipIfUnsupported(t, err)
						t.Errorf("rejected: %+v", err)
					}
				})
			}
		})
	}
}

// rejected lists, per object of testdata/progs/reject, a phrase of the
// verifier's log for each program.
var rejected = map[string]map[string]string{
	"coarse_in_syscall.o": {"sys_coarse": "cannot use helper bpf_ktime_get_coarse_ns"},
	"helper_wrong_type.o": {"xdp_probe": "cannot use helper bpf_probe_read"},
	"infinite_loop.o":     {"rtp_forever": "infinite loop detected"},
	"null_map_value.o":    {"sock_null": "invalid mem access 'map_value_or_null'"},
	"oob_packet.o":        {"xdp_oob": "invalid access to packet"},
	"rodata_write.o":      {"tc_rodata_write": "write into map forbidden"},
}

func TestVerifyRejects(t *testing.T) {
	needKernel(t)
	objs, err := filepath.Glob(filepath.Join(RepoRoot(), "testdata/progs/reject/*.o"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(rejected) {
		t.Errorf("%d objects in reject/, the test knows %d", len(objs), len(rejected))
	}
	for _, obj := range objs {
		want := rejected[filepath.Base(obj)]
		verdicts, err := Verify(obj)
		if err != nil {
			t.Errorf("%s: %v", obj, err)
			continue
		}
		for prog, err := range verdicts {
			phrase, ok := want[prog]
			switch {
			case !ok:
				t.Errorf("%s: program %s is not in the test's list", obj, prog)
			case err == nil:
				t.Errorf("%s: %s was accepted, want rejected with %q", obj, prog, phrase)
			case !strings.Contains(fmt.Sprintf("%+v", err), phrase):
				t.Errorf("%s: %s rejected without %q: %+v", obj, prog, phrase, err)
			}
		}
	}
}

// TestObjectsUpToDate rebuilds every C source with clang, when clang is
// installed, and compares the programs' instructions and the maps with the
// committed objects. Object bytes differ with the build paths recorded in
// the debug information, so the bytes are not compared.
func TestObjectsUpToDate(t *testing.T) {
	root := RepoRoot()
	var sources []string
	for _, pattern := range []string{"testdata/progs/*.c", "testdata/progs/reject/*.c", "testdata/skb/*.c", "examples/*/*.c"} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		sources = append(sources, m...)
	}
	ObjectsUpToDate(t, sources...)
}

// examplePackets are the input frames committed next to the examples.
var examplePackets = map[string]func() []byte{
	"proto_count":    FrameTCP4,
	"firewall":       FrameTCP4,
	"ringbuf_events": FrameUDP4,
	"tail_calls":     FrameICMP4,
}

func TestExamplePackets(t *testing.T) {
	for name, frame := range examplePackets {
		path := filepath.Join(RepoRoot(), "examples", name, "packet.bin")
		if *update {
			if err := os.WriteFile(path, frame(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, frame()) {
			t.Errorf("%s differs from the frame the tests build (go test ./internal/kerneltest -run TestExamplePackets -update)", path)
		}
	}
}

func TestPerCPUHelpers(t *testing.T) {
	v := []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0}
	if got := PerCPUSlot(v, 16, 1); !bytes.Equal(got, v[16:]) {
		t.Errorf("PerCPUSlot = %x", got)
	}
	if got := SumPerCPU(v, 16); !bytes.Equal(got, []byte{6, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("SumPerCPU = %x", got)
	}
	// A 4-byte value takes 8 bytes per CPU.
	if got := PerCPUSlot([]byte{1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0}, 4, 1); !bytes.Equal(got, []byte{9, 0, 0, 0}) {
		t.Errorf("PerCPUSlot with padding = %x", got)
	}
}

// TestCoverage checks that the test programs call every helper and use
// every map type that waggle must support, by reading the objects.
func TestCoverage(t *testing.T) {
	helpers := map[string]bool{}
	mapTypes := map[ebpf.MapType]bool{}
	m, _ := filepath.Glob(filepath.Join(RepoRoot(), "testdata/progs/*.o"))
	for _, obj := range m {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range spec.Programs {
			for _, ins := range p.Instructions {
				if ins.IsBuiltinCall() {
					helpers[asm.BuiltinFunc(ins.Constant).String()] = true
				}
			}
		}
		for _, ms := range spec.Maps {
			mapTypes[ms.Type] = true
		}
	}
	for _, h := range []asm.BuiltinFunc{
		asm.FnMapLookupElem, asm.FnMapUpdateElem, asm.FnMapDeleteElem,
		asm.FnProbeRead, asm.FnProbeReadUser, asm.FnProbeReadKernel,
		asm.FnProbeReadStr, asm.FnProbeReadUserStr, asm.FnProbeReadKernelStr,
		asm.FnKtimeGetNs, asm.FnKtimeGetBootNs, asm.FnKtimeGetCoarseNs, asm.FnJiffies64,
		asm.FnTracePrintk, asm.FnGetPrandomU32, asm.FnGetSmpProcessorId, asm.FnGetNumaNodeId,
		asm.FnTailCall, asm.FnGetCurrentPidTgid, asm.FnGetCurrentUidGid, asm.FnGetCurrentComm,
		asm.FnPerfEventOutput, asm.FnSkbLoadBytes,
		asm.FnXdpAdjustHead, asm.FnXdpAdjustTail, asm.FnXdpAdjustMeta,
		asm.FnRedirect, asm.FnRedirectMap, asm.FnCsumDiff,
		asm.FnMapPushElem, asm.FnMapPopElem, asm.FnMapPeekElem,
		asm.FnSpinLock, asm.FnSpinUnlock,
		asm.FnRingbufOutput, asm.FnRingbufReserve, asm.FnRingbufSubmit, asm.FnRingbufDiscard, asm.FnRingbufQuery,
		asm.FnForEachMapElem, asm.FnLoop, asm.FnSnprintf, asm.FnStrncmp,
	} {
		if !helpers[h.String()] {
			t.Errorf("no test program calls %s", h)
		}
	}
	for _, mt := range []ebpf.MapType{
		ebpf.Array, ebpf.PerCPUArray, ebpf.Hash, ebpf.PerCPUHash, ebpf.LRUHash, ebpf.LRUCPUHash,
		ebpf.LPMTrie, ebpf.RingBuf, ebpf.Queue, ebpf.Stack, ebpf.ProgramArray,
		ebpf.ArrayOfMaps, ebpf.HashOfMaps, ebpf.BloomFilter, ebpf.PerfEventArray, ebpf.DevMap,
	} {
		if !mapTypes[mt] {
			t.Errorf("no test program uses a %s map", mt)
		}
	}
}
