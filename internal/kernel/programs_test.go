package kernel

import (
	"testing"

	"github.com/cilium/ebpf"
)

// TestProgramTypes: every program type of the registry is whole, each
// kernel type is in it once, and the lookups find them.
func TestProgramTypes(t *testing.T) {
	seen := map[ebpf.ProgramType]string{}
	names := map[string]bool{}
	for _, pt := range programTypes {
		switch {
		case pt.Name == "" || names[pt.Name]:
			t.Errorf("%q: a program type needs a name of its own", pt.Name)
		case len(pt.Types) == 0 || pt.context == nil || pt.helpers == 0 || pt.Context.Name == "":
			t.Errorf("%s: a program type needs kernel types, a context, a helper class and a context description", pt.Name)
		}
		names[pt.Name] = true
		for _, typ := range pt.Types {
			if other, dup := seen[typ]; dup {
				t.Errorf("%s is both %s and %s", typ, other, pt.Name)
			}
			seen[typ] = pt.Name
			if got, ok := ProgramTypeOf(typ); !ok || got != pt {
				t.Errorf("ProgramTypeOf(%s) = %v, %v; want %s", typ, got, ok, pt.Name)
			}
			opts := Options{}
			if pt.NeedsAttach {
				opts.AttachType = pt.Attach[0].Type
			}
			if _, err := NewRun(typ, opts); err != nil {
				t.Errorf("NewRun(%s): %v", typ, err)
			}
		}
		if got, typ, ok := ProgramTypeNamed(pt.Name); !ok || got != pt || typ != pt.Types[0] {
			t.Errorf("ProgramTypeNamed(%q) = %v, %v, %v", pt.Name, got, typ, ok)
		}
	}
	if _, ok := ProgramTypeOf(ebpf.LSM); ok {
		t.Error("ProgramTypeOf(LSM) found a type waggle does not run")
	}
}

func TestProgramTypeOfSection(t *testing.T) {
	for _, c := range []struct {
		section string
		want    ebpf.ProgramType
	}{
		{"xdp", ebpf.XDP},
		{"xdp.frags", ebpf.XDP},
		{"tc", ebpf.SchedCLS},
		{"classifier/ingress", ebpf.SchedCLS},
		{"socket", ebpf.SocketFilter},
		{"kprobe/do_sys_open", ebpf.Kprobe},
		{"uretprobe/libc.so.6:malloc", ebpf.Kprobe},
		{"tracepoint/syscalls/sys_enter_openat", ebpf.TracePoint},
		{"tp/syscalls/sys_exit_read", ebpf.TracePoint},
		{"raw_tp/sys_enter", ebpf.RawTracepoint},
		{"syscall", ebpf.Syscall},
		{"perf_event", ebpf.PerfEvent},
		{"lsm/file_open", ebpf.UnspecifiedProgram},
		{"xdpfoo", ebpf.UnspecifiedProgram},
		{"kprobe", ebpf.UnspecifiedProgram},
	} {
		_, got, ok := ProgramTypeOfSection(c.section)
		if ok != (c.want != ebpf.UnspecifiedProgram) || got != c.want {
			t.Errorf("section %q: %s, %v; want %s", c.section, got, ok, c.want)
		}
	}
}
