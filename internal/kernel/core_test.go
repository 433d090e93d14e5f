package kernel

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// TestRelocateCOREReadsRelocations: waggle reads cilium/ebpf's CO-RE
// relocations (whose fields it does not export) and names what each is
// about; this fails if cilium/ebpf changes them.
func TestRelocateCOREReadsRelocations(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpec("../../testdata/core/task.o")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ins := range spec.Programs["task"].Instructions {
		if cr := btf.CORERelocationMetadata(&ins); cr != nil {
			r, err := parseRelocation(cr)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.String())
		}
	}
	for _, want := range []string{
		"byte_off of struct task_struct.pid",
		"byte_off of struct task_struct.real_parent",
		"byte_off of struct task_struct.group_leader",
		"byte_off of struct task_struct.comm",
		"field_exists of struct task_struct.mm",
		"field_exists of struct task_struct.fs",
		"type_exists of struct bpf_ringbuf",
		"type_exists of struct fs_struct",
		"byte_off of struct syscall_trace_enter.args[1]",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no relocation %q among %q", want, got)
		}
	}
}

const mmReason = "CO-RE relocation byte_off of struct task_struct.mm: waggle does not provide field mm of struct task_struct (waggle's struct task_struct has only pid, tgid, real_parent, group_leader, comm), so the program cannot read it"

// TestRelocateCORE: the fixed offsets and existence answers, and the
// poisoned instructions with their reasons.
func TestRelocateCORE(t *testing.T) {
	for _, tc := range []struct {
		obj, prog  string
		unresolved []string // reasons, in any order
	}{
		// The read of mm that bpf_core_field_exists guards is poisoned
		// too: the verifier finds no path to it (waggle's TestCORE).
		{"task.o", "task", []string{mmReason}},
		{"reject_mm.o", "read_mm", []string{mmReason}},
	} {
		t.Run(tc.obj, func(t *testing.T) {
			spec, err := ebpf.LoadCollectionSpec(filepath.Join("../../testdata/core", tc.obj))
			if err != nil {
				t.Fatal(err)
			}
			insns := spec.Programs[tc.prog].Instructions
			out, unresolved, err := RelocatedInstructions(insns)
			if err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for i, why := range unresolved {
				reasons = append(reasons, why)
				if !out[i].IsBuiltinCall() || out[i].Constant != CORESentinel {
					t.Errorf("unresolved instruction %d is %v, not a call of the sentinel", i, out[i])
				}
			}
			slices.Sort(reasons)
			if !slices.Equal(reasons, tc.unresolved) {
				t.Errorf("unresolved %q, want %q", reasons, tc.unresolved)
			}
			if &out[0] == &insns[0] {
				t.Error("the relocated instructions are the spec's own")
			}
			// Every resolved task_struct offset is waggle's.
			offsets := map[int64]bool{taskPID: true, taskTGID: true, taskRealParent: true, taskGroupLeader: true, taskComm: true}
			for i := range out {
				cr := btf.CORERelocationMetadata(&out[i])
				if cr == nil || unresolved[i] != "" {
					continue
				}
				r, err := parseRelocation(cr)
				if err != nil {
					t.Fatal(err)
				}
				if r.kind == "byte_off" && essentialName(r.typ) == "task_struct" {
					v := out[i].Constant
					if c := out[i].OpCode.Class(); c == asm.LdXClass || c == asm.StXClass || c == asm.StClass {
						v = int64(out[i].Offset)
					}
					if !offsets[v] {
						t.Errorf("%s resolved to %d, not an offset of waggle's task_struct", r, v)
					}
				}
			}
		})
	}
}

// formatStructs map a tracepoint format file to the struct of waggle's
// kernel BTF that describes it, and its fields to the struct's.
var formatStructs = []struct {
	prefix, strct string
	field         func(name string, i int) (string, int) // the member path and the element
}{
	{"syscalls_sys_enter_", "syscall_trace_enter", func(name string, i int) (string, int) {
		if name == "__syscall_nr" {
			return "nr", 0
		}
		return "args", i
	}},
	{"syscalls_sys_exit_", "syscall_trace_exit", func(name string, i int) (string, int) {
		if name == "__syscall_nr" {
			return "nr", 0
		}
		return name, 0
	}},
	{"raw_syscalls_sys_enter", "trace_event_raw_sys_enter", func(name string, i int) (string, int) { return name, 0 }},
	{"raw_syscalls_sys_exit", "trace_event_raw_sys_exit", func(name string, i int) (string, int) { return name, 0 }},
}

// TestKernelBTFTracepoints: the contexts of waggle's kernel BTF are laid
// out as the kernel's format files say (testdata/tracepoints).
func TestKernelBTFTracepoints(t *testing.T) {
	spec, err := KernelBTF()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../../testdata/tracepoints/*.format")
	if err != nil || len(files) == 0 {
		t.Fatalf("no format files: %v", err)
	}
	for _, file := range files {
		base := strings.TrimSuffix(filepath.Base(file), ".format")
		t.Run(base, func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			format, err := ParseTracepointFormat(string(text))
			if err != nil {
				t.Fatal(err)
			}
			var strct *btf.Struct
			var field func(string, int) (string, int)
			for _, fs := range formatStructs {
				if strings.HasPrefix(base, fs.prefix) {
					if err := spec.TypeByName(fs.strct, &strct); err != nil {
						t.Fatal(err)
					}
					field = fs.field
				}
			}
			if strct == nil {
				t.Fatalf("no struct of waggle's kernel BTF for %s", base)
			}
			arg := 0
			for _, fd := range format.Fields {
				var path string
				elem := 0
				if after, ok := strings.CutPrefix(fd.Name, "common_"); ok {
					path = "ent." + after
				} else {
					path, elem = field(fd.Name, arg)
					if path == "args" && !strings.HasPrefix(base, "raw_") {
						arg++
					}
				}
				off, size := memberLayout(t, strct, path)
				if size != fd.Size && path == "args" && !strings.HasPrefix(base, "raw_") {
					size /= 6 // one element of unsigned long args[6]
				}
				off += elem * size
				if off != fd.Offset || size != fd.Size {
					t.Errorf("%s: %s at %d, %d bytes; the kernel's %s at %d, %d bytes", base, path, off, size, fd.Name, fd.Offset, fd.Size)
				}
			}
		})
	}
}

// memberLayout finds a member by its dotted path: its offset and size.
func memberLayout(t *testing.T, s *btf.Struct, path string) (int, int) {
	t.Helper()
	off := 0
	var typ btf.Type = s
	for name := range strings.SplitSeq(path, ".") {
		st, ok := btf.UnderlyingType(typ).(*btf.Struct)
		if !ok {
			t.Fatalf("%s: %s is not in a struct", path, name)
		}
		found := false
		for _, m := range st.Members {
			if m.Name == name {
				off += int(m.Offset.Bytes())
				typ, found = m.Type, true
				break
			}
		}
		if !found {
			t.Fatalf("struct %s has no member %s", st.Name, name)
		}
	}
	size, err := btf.Sizeof(typ)
	if err != nil {
		t.Fatal(err)
	}
	return off, size
}

func TestParseTracepointFormat(t *testing.T) {
	ok := "name: x\nID: 7\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:const char * s;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:unsigned long args[6];\toffset:24;\tsize:48;\tsigned:0;\n"
	f, err := ParseTracepointFormat(ok)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "x" || f.ID != 7 || len(f.Fields) != 3 {
		t.Fatalf("parsed %+v", f)
	}
	want := []TracepointField{{"int", "a", 8, 4, true}, {"const char *", "s", 16, 8, false}, {"unsigned long", "args", 24, 48, false}}
	if !slices.Equal(f.Fields, want) {
		t.Errorf("fields %+v, want %+v", f.Fields, want)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"no header", "field:int a;\toffset:0;\tsize:4;\tsigned:1;\n", "no name: and ID:"},
		{"bad ID", "name: x\nID: seven\n", "line 2"},
		{"no fields", "name: x\nID: 7\n", "no fields"},
		{"no offset", "name: x\nID: 7\nfield:int a;\tsize:4;\tsigned:1;\n", "lacks its offset"},
		{"negative size", "name: x\nID: 7\nfield:int a;\toffset:0;\tsize:-4;\tsigned:1;\n", `size "-4" is not a number`},
		{"past a record", "name: x\nID: 7\nfield:int a;\toffset:65535;\tsize:8;\tsigned:1;\n", "past a record"},
		{"no name", "name: x\nID: 7\nfield:int;\toffset:0;\tsize:4;\tsigned:1;\n", "no type and name"},
		{"twice", "name: x\nID: 7\nfield:int a;\toffset:0;\tsize:4;\tsigned:1;\nfield:int a;\toffset:4;\tsize:4;\tsigned:1;\n", "appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTracepointFormat(tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseTracepointFormat(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/tracepoints/*.format")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		tf, err := ParseTracepointFormat(text)
		if err != nil {
			return
		}
		for _, fd := range tf.Fields {
			if fd.Offset < 0 || fd.Size < 0 || fd.Offset+fd.Size > maxTraceFieldEnd || fd.Name == "" || fd.Type == "" {
				t.Fatalf("accepted field %+v", fd)
			}
		}
	})
}
