package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildBCCTool compiles bcc's libbpf-tools/TOOL.bpf.c, unchanged and as
// its Makefile does, into obj, from a bcc checkout (WAGGLE_BCC, else
// /work/ext/bcc): fetched, never committed. It skips the test, saying
// why, when the checkout or clang is missing.
func buildBCCTool(t *testing.T, tool, obj string) {
	t.Helper()
	bcc := os.Getenv("WAGGLE_BCC")
	if bcc == "" {
		bcc = "/work/ext/bcc"
	}
	src := filepath.Join(bcc, "libbpf-tools")
	if _, err := os.Stat(filepath.Join(src, tool+".bpf.c")); err != nil {
		t.Skipf("skipped: no bcc checkout with libbpf-tools/%s.bpf.c at %s (set WAGGLE_BCC to one): %v", tool, bcc, err)
	}
	if _, err := os.Stat(filepath.Join(src, "x86", "vmlinux.h")); err != nil {
		t.Skipf("skipped: the bcc checkout at %s has no libbpf-tools/x86/vmlinux.h: %v", bcc, err)
	}
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skipf("skipped: clang is not installed, and it builds bcc's %s.bpf.c", tool)
	}
	cmd := exec.Command(clang, "-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86",
		"-I"+src, "-I"+filepath.Join(src, "x86"), "-c", filepath.Join(src, tool+".bpf.c"), "-o", obj)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s.bpf.c: %v\n%s", tool, err, out)
	}
}
