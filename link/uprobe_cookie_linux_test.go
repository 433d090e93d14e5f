//go:build linux && amd64

package link_test

import (
	"encoding/binary"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
)

// TestUprobeCookie: each Uprobe's Cookie is what bpf_get_attach_cookie
// returns in its runs: one program on fact's entry and return with two
// cookies counts the calls under each.
func TestUprobeCookie(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	spec, err := waggle.LoadCollectionSpec("../testdata/uprobe/cookie.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	prog := coll.Programs["count_cookie"]
	l, err := link.AttachUprobe(link.UprobeOptions{Path: target, Args: []string{"target", "fact", "5", "2"}, Probes: []link.Uprobe{
		{Program: prog, Path: target, Symbol: "fact", Cookie: 7},
		{Program: prog, Path: target, Symbol: "fact", Return: true, Cookie: 1 << 40},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	entries, err := coll.Maps["by_cookie"].Dump()
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]uint64{}
	for _, e := range entries {
		got[binary.NativeEndian.Uint64(e.Key)] = binary.NativeEndian.Uint64(e.Value)
	}
	// fact(5) twice: 5 calls each (fact(1) ends the recursion).
	if len(got) != 2 || got[7] != 10 || got[1<<40] != 10 {
		t.Errorf("runs by cookie %v, want 10 under 7 and 10 under 1<<40", got)
	}
}
