//go:build linux && amd64

package link_test

import (
	"testing"

	"github.com/waggle-ebpf/waggle/link"
)

// TestUprobeCookie: each Uprobe's Cookie is what bpf_get_attach_cookie
// returns in its runs: one program on fact's entry and return with two
// cookies counts the calls under each.
func TestUprobeCookie(t *testing.T) {
	needPtrace(t)
	target := buildTarget(t)
	coll := uprobeObject(t, "cookie.o")
	prog := coll.Programs["count_cookie"]
	runUprobes(t, link.UprobeOptions{Path: target, Args: []string{"target", "fact", "5", "2"}, Probes: []link.Uprobe{
		{Program: prog, Path: target, Symbol: "fact", Cookie: 7},
		{Program: prog, Path: target, Symbol: "fact", Return: true, Cookie: 1 << 40},
	}})
	got, err := dumpCookies(coll.Maps["by_cookie"].Dump)
	if err != nil {
		t.Fatal(err)
	}
	// fact(5) twice: 5 calls each (fact(1) ends the recursion).
	if len(got) != 2 || got[7] != 10 || got[1<<40] != 10 {
		t.Errorf("runs by cookie %v, want 10 under 7 and 10 under 1<<40", got)
	}
}
