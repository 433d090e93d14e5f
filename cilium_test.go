package waggle

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// ciliumSamples is the folder of Cilium's compiled datapath objects
// (vbpf/ebpf-samples' cilium-core), from WAGGLE_EBPF_SAMPLES: fetched, never
// committed.
func ciliumSamples(t testing.TB) string {
	dir := os.Getenv("WAGGLE_EBPF_SAMPLES")
	if dir == "" {
		t.Skip("skipped: set WAGGLE_EBPF_SAMPLES to a checkout of the ebpf-samples corpus (its cilium-core folder holds Cilium's objects)")
	}
	dir = filepath.Join(dir, "cilium-core")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipped: %v", err)
	}
	return dir
}

// TestCiliumProgramsAgainstKernel runs every tc and XDP program of
// Cilium's objects that waggle verifies on a few packets, with the maps
// as the object creates them (empty: no endpoints, no policy, no
// configuration), in waggle on both engines and in the kernel, and
// requires the same return values and output packets.
func TestCiliumProgramsAgainstKernel(t *testing.T) {
	dir := ciliumSamples(t)
	if err := kerneltest.Available(); err != nil {
		t.Skipf("the kernel cannot run the programs here: %v", err)
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "*.o"))
	// The kernel's test run looks routes up in this namespace: so does
	// waggle.
	fib, err := HostFIB()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]string{}
	b, err := os.ReadFile("testdata/skb/cilium_known.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 3 && !strings.HasPrefix(l, "#") {
			known[f[0]+" "+f[1]+" "+f[2]] = strings.Join(f[3:], " ")
		}
	}
	packets := map[string][]byte{
		"tcp4": kerneltest.FrameTCP4(), "udp6": kerneltest.FrameUDP6(), "arp": kerneltest.FrameARP(),
		"vlan4": kerneltest.FrameVLANTCP4(), "icmp4": kerneltest.FrameICMP4(),
	}
	names := make([]string, 0, len(packets))
	for n := range packets {
		names = append(names, n)
	}
	sort.Strings(names)
	compared, programs, skipped, mapsCompared := 0, 0, 0, 0
	for _, obj := range objs {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		progNames := make([]string, 0, len(spec.Programs))
		for n, p := range spec.Programs {
			if p.Type == ebpf.SchedCLS || p.Type == ebpf.XDP {
				progNames = append(progNames, n)
			}
		}
		sort.Strings(progNames)
		for _, name := range progNames {
			only := func() *ebpf.CollectionSpec {
				s := spec.Copy()
				for n := range s.Programs {
					if n != name {
						delete(s.Programs, n)
					}
				}
				for _, m := range s.Maps {
					m.Pinning = ebpf.PinNone
				}
				return s
			}
			kcoll, err := ebpf.NewCollection(only())
			if err != nil {
				t.Logf("%s %s: the kernel refuses it: %v", filepath.Base(obj), name, firstLine(err))
				continue
			}
			wcolls := map[Engine]*Collection{}
			for _, e := range engines {
				wc, err := NewCollectionWithOptions(only(), CollectionOptions{Engine: e})
				if err != nil {
					break
				}
				wcolls[e] = wc
			}
			if len(wcolls) != len(engines) {
				for _, wc := range wcolls {
					wc.Close()
				}
				kcoll.Close()
				t.Logf("%s %s: waggle refuses it (see waggle verify)", filepath.Base(obj), name)
				continue
			}
			programs++
			for _, pn := range names {
				pkt := packets[pn]
				kopts := &ebpf.RunOptions{Data: pkt, DataOut: make([]byte, len(pkt)+4096)}
				kret, kerr := kcoll.Programs[name].Run(kopts)
				for _, e := range engines {
					wopts := &RunOptions{Data: pkt, DataOut: make([]byte, len(pkt)+4096), FIB: fib}
					wres, werr := wcolls[e].Programs[name].Run(wopts)
					switch {
					case kerr != nil || werr != nil:
						if (kerr == nil) != (werr == nil) {
							t.Errorf("%s %s %s (%s): kernel error %v, waggle error %v", filepath.Base(obj), name, pn, e, kerr, werr)
						}
					case wres != kret:
						t.Errorf("%s %s %s (%s): return value: waggle %d, kernel %d", filepath.Base(obj), name, pn, e, wres, kret)
					case !bytes.Equal(wopts.DataOut, kopts.DataOut) && known[filepath.Base(obj)+" "+name+" *"] != "":
						skipped++
					case !bytes.Equal(wopts.DataOut, kopts.DataOut):
						t.Errorf("%s %s %s (%s): data out:\nwaggle %x\nkernel %x", filepath.Base(obj), name, pn, e, wopts.DataOut, kopts.DataOut)
					}
				}
				compared++
			}
			ownValues := known[filepath.Base(obj)+" "+name+" *"] != ""
			mapsCompared += compareCiliumMaps(t, filepath.Base(obj)+" "+name, kcoll, wcolls, ownValues)
			for _, wc := range wcolls {
				wc.Close()
			}
			kcoll.Close()
		}
	}
	t.Logf("%d Cilium programs run on %d packets each: %d runs compared with the kernel on %d engines (%d output packets with the kernel's own values, testdata/skb/cilium_known.txt, not compared); %d maps holding something afterwards compared", programs, len(names), compared, len(engines), skipped, mapsCompared)
}

// compareCiliumMaps compares every map of a program's collections after
// its runs, in the kernel and in waggle (per-CPU values summed over the
// CPUs, as counters), and returns how many held something. For a program
// whose packets hold the kernel's own values (ownValues: a random NAT
// port, a hash keyed by a secret), which its maps keep too, only the
// number of elements is compared.
func compareCiliumMaps(t *testing.T, what string, kcoll *ebpf.Collection, wcolls map[Engine]*Collection, ownValues bool) int {
	t.Helper()
	n := 0
	for name, km := range kcoll.Maps {
		kkv, err := kerneltest.DumpMap(kcoll, km)
		if err != nil {
			continue // a ring buffer, a map of sockets...: nothing to compare by contents
		}
		perCPU := km.Type() == ebpf.PerCPUArray || km.Type() == ebpf.PerCPUHash || km.Type() == ebpf.LRUCPUHash
		sum := func(kvs []kerneltest.KV) []kerneltest.KV {
			if !perCPU {
				return kvs
			}
			out := make([]kerneltest.KV, len(kvs))
			for i, kv := range kvs {
				out[i] = kerneltest.KV{Key: kv.Key, Value: kerneltest.SumPerCPU(kv.Value, int(km.ValueSize()))}
			}
			return out
		}
		kkv = sum(kkv)
		if km.Type() == ebpf.Array || km.Type() == ebpf.PerCPUArray {
			kkv = nonZero(kkv)
		}
		if len(kkv) > 0 {
			n++
		}
		for e, wc := range wcolls {
			wkv, err := dumpForKerneltest(wc, wc.Maps[name])
			if err != nil {
				t.Errorf("%s (%s): map %s: %v", what, e, name, err)
				continue
			}
			wkv = sum(wkv)
			if km.Type() == ebpf.Array || km.Type() == ebpf.PerCPUArray {
				wkv = nonZero(wkv)
			}
			slices.SortFunc(wkv, func(a, b kerneltest.KV) int { return bytes.Compare(a.Key, b.Key) })
			slices.SortFunc(kkv, func(a, b kerneltest.KV) int { return bytes.Compare(a.Key, b.Key) })
			if ownValues && len(wkv) != len(kkv) {
				t.Errorf("%s (%s): map %s has %d elements after the runs, the kernel's %d", what, e, name, len(wkv), len(kkv))
			}
			if !ownValues && !equalKVs(wkv, kkv) {
				t.Errorf("%s (%s): map %s after the runs:\nwaggle %s\nkernel %s", what, e, name, kvString(wkv), kvString(kkv))
			}
		}
	}
	return n
}

// nonZero leaves out an array's elements that are all zeros.
func nonZero(kvs []kerneltest.KV) []kerneltest.KV {
	var out []kerneltest.KV
	for _, kv := range kvs {
		if slices.ContainsFunc(kv.Value, func(b byte) bool { return b != 0 }) {
			out = append(out, kv)
		}
	}
	return out
}

func firstLine(err error) string {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return "verifier: " + ve.Error()
	}
	s := err.Error()
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
