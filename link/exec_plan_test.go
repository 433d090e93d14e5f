package link_test

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
)

// policy loads a policy of testdata/seccomp.
func policy(t *testing.T, name string) *waggle.Program {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec("../testdata/seccomp/" + name + ".o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	return coll.Programs[name]
}

// traceObject loads an object of testdata/syscalls and returns its
// collection and its programs as traces.
func traceObject(t *testing.T, name string) (*waggle.Collection, []link.Trace) {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec("../testdata/syscalls/" + name + ".o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	var traces []link.Trace
	for pname, ps := range spec.Programs {
		traces = append(traces, link.Trace{Program: coll.Programs[pname], Section: ps.SectionName})
	}
	return coll, traces
}

// TestPrefilter: the pre-filter of a supervised link, on every system (it
// only computes): the calls that leave the kernel for waggle, and those
// that stop for the tracer because exit programs name them; off x86-64,
// whose system calls it knows, a refusal that says so.
func TestPrefilter(t *testing.T) {
	_, opens := traceObject(t, "opens_ret")
	for _, c := range []struct {
		name   string
		policy *waggle.Program
		traces []link.Trace
		leave  []string
	}{
		{"policy", policy(t, "unlink_quota"), nil, []string{"unlink", "unlinkat", "other"}},
		// opens_ret reads the task's name: the calls that may change it
		// leave the kernel too, so that waggle forgets what it cached.
		{"exit programs", nil, opens, []string{"clone", "fork", "vfork", "execve", "setuid", "setgid", "setreuid", "setregid", "setgroups",
			"setresuid", "setresgid", "setfsuid", "setfsgid", "prctl", "openat (ptrace)", "execveat", "clone3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, leave, err := link.Prefilter(c.policy, c.traces)
			if runtime.GOARCH != "amd64" {
				if err == nil || !strings.Contains(err.Error(), "x86-64's system calls") {
					t.Errorf("Prefilter on %s: %v; want a refusal naming x86-64's system calls", runtime.GOARCH, err)
				}
				return
			}
			if err != nil || len(f) == 0 || !slices.Equal(leave, c.leave) {
				t.Errorf("Prefilter: %d instructions, %q, %v; want %q", len(f), leave, err, c.leave)
			}
		})
	}
}
