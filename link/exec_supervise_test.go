package link_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/link"
)

// TestExecSupervisedQuota: a policy with a map runs in waggle on the
// calls its triage cannot decide in the kernel (unlink, unlinkat): the
// first two removals pass, the third fails, the other calls never leave
// the kernel.
func TestExecSupervisedQuota(t *testing.T) {
	needSeccomp(t)
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"a", "b", "c"} {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var out bytes.Buffer
	l, err := link.AttachExec(policy(t, "unlink_quota"), link.ExecOptions{Path: "sh",
		Args: []string{"sh", "-c", "for f in " + strings.Join(files, " ") + "; do rm $f; done; echo done"}, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Wait(); err != nil {
		t.Fatal(err)
	}
	if !l.Supervised() {
		t.Error("not supervised")
	}
	for i, f := range files {
		_, err := os.Stat(f)
		if exists := err == nil; exists != (i == 2) {
			t.Errorf("%s exists: %v", f, exists)
		}
	}
	if !strings.Contains(out.String(), "Operation not permitted") || !strings.Contains(out.String(), "done") {
		t.Errorf("output %q", out.String())
	}
	st := l.Stats()
	t.Logf("%+v", st)
	if st.Notifications != 3 || st.Allowed != 2 || st.Denied != 1 || st.Runs != 3 {
		t.Errorf("stats %+v: want 3 notified calls, 2 allowed, 1 denied, 3 runs", st)
	}
}
