//go:build linux && amd64

package link_test

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	cilink "github.com/cilium/ebpf/link"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/internal/usdt"
	"github.com/waggle-ebpf/waggle/link"
)

// kernelKconfig makes spec loadable by cilium/ebpf into the kernel, which
// does not know LINUX_HAS_BPF_COOKIE (libbpf gives it, cilium/ebpf looks
// for it in the kernel's config): the .kconfig loads read a map of the
// test's own holding the values waggle gives (kernel.KconfigSpec), with
// each instruction's symbol (a function's first), source line and
// function information kept.
func kernelKconfig(t testing.TB, spec *ebpf.CollectionSpec) {
	t.Helper()
	const name = "waggle_kconfig"
	for _, ps := range spec.Programs {
		for i, ins := range ps.Instructions {
			ds, off, ok := kernel.KconfigLoad(ins)
			if !ok {
				continue
			}
			if spec.Maps[name] == nil {
				ms, err := kernel.KconfigSpec(ds)
				if err != nil {
					t.Fatal(err)
				}
				ms.Name = name
				spec.Maps[name] = ms
			}
			n := asm.LoadMapValue(ins.Dst, 0, off).WithReference(name).WithSource(ins.Source()).WithSymbol(ins.Symbol())
			if fn := btf.FuncMetadata(&ins); fn != nil {
				n = btf.WithFuncMetadata(n, fn)
			}
			ps.Instructions[i] = n
		}
	}
}

// TestUSDTKernel is a differential test: the same object, attached by the
// kernel through cilium/ebpf (a uprobe at each site's file offset with
// the site's spec ID as cookie and the semaphore as reference counter,
// the specs written the same way), counts the same probes of the same
// program run with the same arguments as under waggle: every (thread,
// round) once with the same values and arguments, and the gated probe 5
// times.
func TestUSDTKernel(t *testing.T) {
	needPtrace(t)
	if err := kerneltest.Available(); err != nil {
		t.Skip(err)
	}
	target := proctest.BuildSDT(t, "../testdata/usdt/target.c", "-O2", "-pthread")
	const threads, rounds = 4, 50
	args := []string{fmt.Sprint(threads), fmt.Sprint(rounds)}

	// The kernel.
	spec, err := waggle.LoadCollectionSpec("../testdata/usdt/usdt.o")
	if err != nil {
		t.Fatal(err)
	}
	kernelKconfig(t, spec)
	kcoll, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatalf("load usdt.o into the kernel: %v", err)
	}
	defer kcoll.Close()
	sites, err := usdt.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := cilink.OpenExecutable(target)
	if err != nil {
		t.Fatal(err)
	}
	programs := map[string]string{"tick": "tick", "gated": "gated_probe"}
	cookies := map[string]uint64{"tick": 77, "gated": 78}
	var ups []cilink.Link
	defer func() {
		for _, up := range ups {
			up.Close()
		}
	}()
	for id, s := range sites {
		b, err := usdt.Spec(s.Arguments, cookies[s.Name])
		if err != nil {
			t.Fatal(err)
		}
		if err := kcoll.Maps[link.USDTSpecsMap].Put(uint32(id), b); err != nil {
			t.Fatal(err)
		}
		up, err := ex.Uprobe("", kcoll.Programs[programs[s.Name]], &cilink.UprobeOptions{Address: s.Offset, RefCtrOffset: s.SemaphoreOffset, Cookie: uint64(id)})
		if errors.Is(err, ebpf.ErrNotSupported) {
			t.Skipf("the kernel's uprobes with cookies and reference counters: %v", err)
		}
		if err != nil {
			t.Fatalf("kernel uprobe at %s: %v", s.Note, err)
		}
		ups = append(ups, up)
	}
	out, err := exec.Command(target, args...).CombinedOutput()
	if err != nil || string(out) != "gated 5\n" {
		t.Fatalf("the target under the kernel's uprobes: %v, %q", err, out)
	}
	kernelTicks, err := dumpTicks(kcoll.Maps["ticks"])
	if err != nil {
		t.Fatal(err)
	}
	// The kernel's uprobes go first: their int3 would be in waggle's
	// way (the kernel takes the trap of its own breakpoints).
	for _, up := range ups {
		if err := up.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ups = nil

	// waggle.
	coll := usdtObject(t)
	var wout strings.Builder
	l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: append([]string{"target"}, args...), Stdout: &wout, Stderr: &wout, USDT: usdtProbes(coll, target)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if wout.String() != string(out) {
		t.Errorf("the target says %q under waggle, %q under the kernel", wout.String(), out)
	}
	waggleTicks := readTicks(t, coll.Maps["ticks"])
	if len(kernelTicks) != threads*rounds || len(waggleTicks) != len(kernelTicks) {
		t.Fatalf("%d entries under waggle, %d under the kernel, want %d", len(waggleTicks), len(kernelTicks), threads*rounds)
	}
	for k, kv := range kernelTicks {
		wv, ok := waggleTicks[k]
		// Thread IDs differ from run to run: each thread's own is
		// checked by checkTicks.
		kv.tid, wv.tid = 0, 0
		if !ok || kv != wv {
			t.Errorf("thread %d round %d: waggle %+v, the kernel %+v", k[0], k[1], wv, kv)
		}
	}
	checkTicks(t, coll, threads, rounds, uint32(l.Pid()))
	var kg, wg [24]byte
	if err := kcoll.Maps["gated"].Lookup(uint32(0), &kg); err != nil {
		t.Fatal(err)
	}
	if err := coll.Maps["gated"].Lookup(uint32(0), &wg); err != nil {
		t.Fatal(err)
	}
	if kg != wg {
		t.Errorf("gated: waggle %x, the kernel %x", wg, kg)
	}
}

// dumpTicks reads the kernel's ticks map as readTicks reads waggle's.
func dumpTicks(m *ebpf.Map) (map[[2]uint32]tickEntry, error) {
	out := map[[2]uint32]tickEntry{}
	var k [8]byte
	var v [40]byte
	it := m.Iterate()
	for it.Next(&k, &v) {
		e := decodeTick(v[:])
		out[[2]uint32{le32(k[:]), le32(k[4:])}] = e
	}
	return out, it.Err()
}
