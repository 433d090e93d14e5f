package verifier

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/kernel"
)

// standIns are the kernel prototypes of helpers that the socket objects
// call and waggle does not implement yet: the test declares them as
// helpers of the user's, so that the rest of each program is verified.
var standIns = map[int32]helper.Proto{
	46: {Args: []helper.ArgKind{helper.ArgCtx}, Ret: helper.RetInteger}, // bpf_get_socket_cookie(ctx)
	// bpf_get_netns_cookie(ctx or NULL): helper.Proto has no kind for
	// "the context or NULL" yet, so the stand-in takes anything.
	122: {Args: []helper.ArgKind{helper.ArgAnything}, Ret: helper.RetInteger},
}

// TestSockObjects verifies the socket programs of Cilium (bpf_sock.o from
// the ebpf-samples corpus, WAGGLE_EBPF_SAMPLES) and of cilium/ebpf's
// examples (cgroup_skb, tcprtt_sockops: WAGGLE_CILIUM_EBPF, a checkout of
// github.com/cilium/ebpf) and compares waggle's verdicts with the
// kernel's (as root). Helpers waggle lacks get stand-ins with the
// kernel's prototypes, and the test names them.
func TestSockObjects(t *testing.T) {
	var objs []string
	if dir := os.Getenv("WAGGLE_EBPF_SAMPLES"); dir != "" {
		objs = append(objs, filepath.Join(dir, "cilium-core", "bpf_sock.o"))
	}
	if dir := os.Getenv("WAGGLE_CILIUM_EBPF"); dir != "" {
		objs = append(objs, filepath.Join(dir, "examples", "cgroup_skb", "bpf_bpfel.o"),
			filepath.Join(dir, "examples", "tcprtt_sockops", "bpf_bpfel.o"))
	}
	if len(objs) == 0 {
		t.Skip("set WAGGLE_EBPF_SAMPLES to a copy of github.com/vbpf/ebpf-samples (cilium-core/bpf_sock.o) and WAGGLE_CILIUM_EBPF to a checkout of github.com/cilium/ebpf (its examples' objects)")
	}
	kernelOK := kernelAvailable() == nil
	agree, total := 0, 0
	missing := map[string][]string{}
	for _, obj := range objs {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p, err := ProgramFromSpec(spec.Programs[n], spec.Maps)
			if err != nil {
				t.Errorf("%s: %s: %v", obj, n, err)
				continue
			}
			for _, ins := range p.Instructions {
				if !ins.IsHelperCall() {
					continue
				}
				id := int32(ins.Imm)
				if known, _ := kernel.HelperAllowed(p.Type, id); known {
					continue
				}
				proto, ok := standIns[id]
				if !ok {
					continue // refused below, naming the helper
				}
				if p.Helpers == nil {
					p.Helpers = map[int32]helper.Helper{}
				}
				if _, done := p.Helpers[id]; !done {
					p.Helpers[id] = helper.Helper{ID: id, Name: helper.Name(id), Proto: proto}
					missing[helper.Name(id)] = append(missing[helper.Name(id)], n)
				}
			}
			_, werr := Verify(p, Options{})
			if !kernelOK {
				if werr != nil {
					t.Errorf("%s: waggle rejects %s: %v", filepath.Base(obj), n, werr)
				}
				continue
			}
			kok, log, kerr := kernelVerify(p, 0)
			if kerr != nil {
				t.Errorf("%s: %s: %v", obj, n, kerr)
				continue
			}
			total++
			if kok == (werr == nil) {
				agree++
				continue
			}
			t.Errorf("%s: %s: kernel accepted=%v, waggle: %v\n%s", filepath.Base(obj), n, kok, werr, lastLines(log, 3))
		}
	}
	for name, progs := range missing {
		t.Logf("waggle lacks %s, called by %s (verified with a stand-in of the kernel's prototype)", name, strings.Join(progs, ", "))
	}
	if kernelOK {
		t.Logf("waggle's verdict is the kernel's on %d of %d programs", agree, total)
	}
}
