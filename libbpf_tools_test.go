package waggle_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// The libbpf-tools cases (testdata/libbpf_tools/cases.json): bcc's
// opensnoop, execsnoop and syscount, compiled unchanged from a bcc
// checkout (WAGGLE_BCC, or /work/ext/bcc), run on tracepoint contexts laid
// out by the kernel's format files (testdata/tracepoints) for a task whose
// memory holds the paths and arguments; and profile, on perf event samples
// of a task whose registers and stack it walks.

type toolCase struct {
	Name     string         `json:"name"`
	Tool     string         `json:"tool"`
	Set      map[string]any `json:"set"`
	Task     toolTask       `json:"task"`
	Memory   []toolSegment  `json:"memory"`
	Runs     []toolRun      `json:"runs"`
	Events   *toolEvents    `json:"events"`
	Maps     []toolMapValue `json:"maps"`
	MapSizes map[string]int `json:"map_sizes"`
	// MapSpecs change maps as the tools' user-space halves do before
	// loading (profile sizes its stack trace map).
	MapSpecs map[string]struct {
		ValueSize  uint32 `json:"value_size"`
		MaxEntries uint32 `json:"max_entries"`
	} `json:"map_specs"`
	// Entries are elements expected in a map, found by the fields of
	// their keys, for maps whose keys a case cannot know (stack IDs are
	// hashes); ValueU64 is the start of a value without BTF, as 8-byte
	// words.
	Entries []struct {
		Map      string         `json:"map"`
		Key      map[string]any `json:"key"`
		Value    map[string]any `json:"value"`
		ValueU64 []any          `json:"value_u64"`
	} `json:"entries"`
	// Refused, if set, is what waggle's refusal of the object with these
	// options says: what it lacks, which the kernel has.
	Refused string `json:"refused"`
}

type toolTask struct {
	PID  uint32 `json:"pid"`
	TGID uint32 `json:"tgid"`
	PPID uint32 `json:"ppid"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	Comm string `json:"comm"`
	Regs *struct {
		IP any `json:"ip"`
		SP any `json:"sp"`
		BP any `json:"bp"`
	} `json:"regs"`
}

type toolSegment struct {
	Addr   any     `json:"addr"`
	String *string `json:"string"`
	U64    []any   `json:"u64"`
}

type toolRun struct {
	Program    string `json:"program"`
	Tracepoint string `json:"tracepoint"`
	// ContextSize, for a program that is not a tracepoint's, is the size
	// of its context, zeros.
	ContextSize int            `json:"context_size"`
	Fields      map[string]any `json:"fields"`
	Task        *toolTask      `json:"task"`
}

type toolEvents struct {
	Map  string `json:"map"`
	Type string `json:"type"`
	// Header, if set, declares Type, which the object's BTF lacks (the
	// tool's code has no variable or parameter of that type): the test
	// compiles a variable of it to read its layout.
	Header  string           `json:"header"`
	Records []map[string]any `json:"records"`
}

type toolMapValue struct {
	Map   string         `json:"map"`
	Key   uint32         `json:"key"`
	Value map[string]any `json:"value"`
}

// number parses a JSON number or a string in Go's syntax (0x, 0o, -).
func number(v any) (uint64, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	default:
		return 0, fmt.Errorf("%v (%T) is not a number", v, v)
	}
	if strings.HasPrefix(s, "-") {
		n, err := strconv.ParseInt(s, 0, 64)
		return uint64(n), err
	}
	return strconv.ParseUint(s, 0, 64)
}

func (tt *toolTask) task(t *testing.T, mem fakeMemory) *helper.Task {
	task := &helper.Task{PID: tt.PID, TGID: tt.TGID, PPID: tt.PPID, UID: tt.UID, GID: tt.GID, Comm: tt.Comm, Memory: mem}
	if tt.Regs != nil {
		var r [3]uint64
		for i, n := range []any{tt.Regs.IP, tt.Regs.SP, tt.Regs.BP} {
			v, err := number(n)
			if err != nil {
				t.Fatal(err)
			}
			r[i] = v
		}
		task.Regs = &helper.UserRegs{IP: r[0], SP: r[1], BP: r[2]}
	}
	return task
}

// fakeMemory is a task's address space: segments of bytes at addresses.
type fakeMemory []fakeSegment

type fakeSegment struct {
	addr uint64
	b    []byte
}

func (m fakeMemory) ReadAt(p []byte, off int64) (int, error) {
	for _, s := range m {
		if uint64(off) >= s.addr && uint64(off) < s.addr+uint64(len(s.b)) {
			n := copy(p, s.b[uint64(off)-s.addr:])
			if n < len(p) {
				return n, errUnmapped
			}
			return n, nil
		}
	}
	return 0, errUnmapped
}

func buildMemory(t *testing.T, segs []toolSegment) fakeMemory {
	var m fakeMemory
	for _, s := range segs {
		addr, err := number(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		if s.String != nil {
			b = append([]byte(*s.String), 0)
		}
		for _, n := range s.U64 {
			v, err := number(n)
			if err != nil {
				t.Fatal(err)
			}
			b = binary.NativeEndian.AppendUint64(b, v)
		}
		m = append(m, fakeSegment{addr, b})
	}
	return m
}

// tracepointContext lays out a tracepoint's record by its format file.
func tracepointContext(t *testing.T, name string, fields map[string]any) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata/tracepoints", name+".format"))
	if err != nil {
		t.Fatal(err)
	}
	format, err := kernel.ParseTracepointFormat(string(text))
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, f := range format.Fields {
		size = max(size, f.Offset+f.Size)
	}
	ctx := make([]byte, size)
	binary.NativeEndian.PutUint16(ctx, uint16(format.ID)) // common_type
	for name, v := range fields {
		f, ok := format.Field(name)
		if !ok {
			t.Fatalf("tracepoint %s has no field %s", format.Name, name)
		}
		vals := []any{v}
		if list, ok := v.([]any); ok {
			vals = list
		}
		elem := f.Size / len(vals)
		for i, v := range vals {
			n, err := number(v)
			if err != nil {
				t.Fatalf("field %s: %v", name, err)
			}
			b := ctx[f.Offset+i*elem:]
			switch elem {
			case 1:
				b[0] = byte(n)
			case 2:
				binary.NativeEndian.PutUint16(b, uint16(n))
			case 4:
				binary.NativeEndian.PutUint32(b, uint32(n))
			case 8:
				binary.NativeEndian.PutUint64(b, n)
			default:
				t.Fatalf("field %s: elements of %d bytes", name, elem)
			}
		}
	}
	return ctx
}

// decodeBTF flattens a value by its BTF type into dotted field names:
// integers as decimal strings, char arrays as strings (to their last NUL),
// other arrays as lists. A value cut short (a perf record of a variable
// size) gives the fields that fit.
func decodeBTF(typ btf.Type, b []byte, prefix string, out map[string]any) {
	switch u := btf.UnderlyingType(typ).(type) {
	case *btf.Struct:
		for _, m := range u.Members {
			name := m.Name
			if prefix != "" {
				name = prefix + "." + m.Name
			}
			off := int(m.Offset.Bytes())
			if off > len(b) {
				continue
			}
			decodeBTF(m.Type, b[off:], name, out)
		}
	case *btf.Array:
		el, _ := btf.UnderlyingType(u.Type).(*btf.Int)
		if el != nil && el.Size == 1 {
			s := b[:min(len(b), int(u.Nelems))]
			out[prefix] = string(bytes.TrimRight(s, "\x00"))
			return
		}
		size, err := btf.Sizeof(u.Type)
		if err != nil || size == 0 {
			return
		}
		var list []any
		for i := 0; i < int(u.Nelems) && (i+1)*size <= len(b); i++ {
			sub := map[string]any{}
			decodeBTF(u.Type, b[i*size:], "x", sub)
			list = append(list, sub["x"])
		}
		out[prefix] = list
	case *btf.Int, *btf.Enum:
		size, _ := btf.Sizeof(u)
		if size > len(b) {
			return
		}
		var v uint64
		switch size {
		case 1:
			v = uint64(b[0])
		case 2:
			v = uint64(binary.NativeEndian.Uint16(b))
		case 4:
			v = uint64(binary.NativeEndian.Uint32(b))
		case 8:
			v = binary.NativeEndian.Uint64(b)
		}
		signed := false
		if i, ok := u.(*btf.Int); ok {
			signed = i.Encoding&btf.Signed != 0
		}
		if signed {
			shift := 64 - 8*size
			out[prefix] = strconv.FormatInt(int64(v<<shift)>>shift, 10)
		} else {
			out[prefix] = strconv.FormatUint(v, 10)
		}
	}
}

// matches compares a decoded value with the expected one (numbers in any
// syntax number() reads).
func matches(got, want any) bool {
	switch w := want.(type) {
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !matches(g[i], w[i]) {
				return false
			}
		}
		return true
	case string:
		if g, ok := got.(string); ok && g == w {
			return true
		}
	}
	g, ok := got.(string)
	if !ok {
		return false
	}
	wn, err := number(want)
	if err != nil {
		return false
	}
	gn, err := number(g)
	return err == nil && gn == wn
}

// fieldsMatch reports whether got has every field of want.
func fieldsMatch(got, want map[string]any) bool {
	for k, w := range want {
		if g, ok := got[k]; !ok || !matches(g, w) {
			return false
		}
	}
	return true
}

func checkFields(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: no field %s", what, k)
			continue
		}
		if !matches(g, want[k]) {
			t.Errorf("%s: %s = %q, want %v", what, k, g, want[k])
		}
	}
}

// bccDir finds a bcc checkout for the libbpf-tools tests.
func bccDir(t *testing.T) string {
	dir := os.Getenv("WAGGLE_BCC")
	if dir == "" {
		dir = "/work/ext/bcc"
	}
	if _, err := os.Stat(filepath.Join(dir, "libbpf-tools", "x86", "vmlinux.h")); err != nil {
		t.Skipf("skipped: no bcc checkout with libbpf-tools/x86/vmlinux.h at %s (set WAGGLE_BCC to one): %v", dir, err)
	}
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("skipped: clang is not installed, and it builds bcc's libbpf-tools")
	}
	return dir
}

var toolObjects sync.Map // object path → true, built once

// buildTool compiles libbpf-tools/TOOL.bpf.c as its Makefile does, into
// dir (once per dir: a test's temporary directory goes with it).
func buildTool(t *testing.T, bcc, tool, dir string) string {
	src := filepath.Join(bcc, "libbpf-tools")
	obj := filepath.Join(dir, tool+".bpf.o")
	if _, ok := toolObjects.Load(obj); ok {
		return obj
	}
	cmd := exec.Command("clang", "-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86",
		"-I"+src, "-I"+filepath.Join(src, "x86"), "-c", filepath.Join(src, tool+".bpf.c"), "-o", obj)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", tool, err, out)
	}
	toolObjects.Store(obj, true)
	return obj
}

// headerTypes compiles a variable of struct typ declared in a
// libbpf-tools header and returns its object's BTF.
func headerTypes(t *testing.T, header, typ string) *btf.Spec {
	t.Helper()
	bcc := bccDir(t)
	src := filepath.Join(bcc, "libbpf-tools")
	dir := t.TempDir()
	c := filepath.Join(dir, "type.c")
	text := fmt.Sprintf("#include <vmlinux.h>\n#include \"%s\"\nstruct %s waggle_type_probe;\n", header, typ)
	if err := os.WriteFile(c, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "type.o")
	cmd := exec.Command("clang", "-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86",
		"-I"+src, "-I"+filepath.Join(src, "x86"), "-c", c, "-o", obj)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compiling struct %s of %s: %v\n%s", typ, header, err, out)
	}
	spec, err := btf.LoadSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// setVariables writes a case's options into the spec's variables, by
// their sizes.
func setVariables(t *testing.T, spec *ebpf.CollectionSpec, set map[string]any) {
	for name, v := range set {
		vs, ok := spec.Variables[name]
		if !ok {
			t.Fatalf("the object has no variable %s", name)
		}
		n, err := number(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b := binary.NativeEndian.AppendUint64(nil, n)[:vs.Size()]
		if err := vs.Set(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestLibbpfTools(t *testing.T) {
	bcc := bccDir(t)
	data, err := os.ReadFile("testdata/libbpf_tools/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []toolCase `json:"cases"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range file.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			obj := buildTool(t, bcc, tc.Tool, dir)
			base, err := waggle.LoadCollectionSpec(obj)
			if err != nil {
				t.Fatal(err)
			}
			if tc.Refused != "" {
				spec := base.Copy()
				setVariables(t, spec, tc.Set)
				coll, err := waggle.NewCollection(spec)
				if err == nil {
					coll.Close()
					t.Fatalf("waggle loads the object; want a refusal saying %q", tc.Refused)
				}
				if !strings.Contains(err.Error(), tc.Refused) {
					t.Fatalf("waggle refuses the object with %q, want %q", err, tc.Refused)
				}
				if kerneltest.Available() == nil {
					kspec := base.Copy()
					setVariables(t, kspec, tc.Set)
					if kcoll, err := kerneltest.LoadCollection(kspec, ebpf.CollectionOptions{}, ""); err == nil {
						kcoll.Close()
						t.Logf("a difference: the kernel (%s) accepts the object, which waggle refuses (%s)", kerneltest.Release(), tc.Refused)
					} else {
						t.Logf("the kernel refuses it too: %v", err)
					}
				}
				return
			}
			mem := buildMemory(t, tc.Memory)
			for name, ms := range tc.MapSpecs {
				m := base.Maps[name]
				if m == nil {
					t.Fatalf("no map %s", name)
				}
				m.ValueSize, m.MaxEntries = ms.ValueSize, ms.MaxEntries
			}
			for _, engine := range []waggle.Engine{waggle.EngineInterpreter, waggle.EngineJIT} {
				if engine == waggle.EngineJIT && !jit.Supported {
					t.Logf("%v: not run: %s", engine, jit.Unsupported)
					continue
				}
				spec := base.Copy()
				setVariables(t, spec, tc.Set)
				coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: engine, CPUs: 2})
				if err != nil {
					t.Fatalf("%v: %v", engine, err)
				}
				runToolCase(t, fmt.Sprint(engine), tc, spec, coll, mem)
				coll.Close()
			}
			compareWithKernel(t, base, tc.Set)
		})
	}
}

func runToolCase(t *testing.T, engine string, tc toolCase, spec *ebpf.CollectionSpec, coll *waggle.Collection, mem fakeMemory) {
	t.Helper()
	if tc.Events != nil {
		m := coll.Maps[tc.Events.Map]
		if m == nil {
			t.Fatalf("no map %s", tc.Events.Map)
		}
		if spec.Maps[tc.Events.Map].Type == ebpf.PerfEventArray {
			for i := range m.MaxEntries() {
				if err := m.Put(i, uint32(0)); err != nil { // open the slot, as a reader does
					t.Fatal(err)
				}
			}
		}
	}
	for i, r := range tc.Runs {
		tt := &tc.Task
		if r.Task != nil {
			tt = r.Task
		}
		p := coll.Programs[r.Program]
		if p == nil {
			t.Fatalf("run %d: no program %s", i, r.Program)
		}
		ctx := make([]byte, r.ContextSize)
		if r.Tracepoint != "" {
			ctx = tracepointContext(t, r.Tracepoint, r.Fields)
		}
		res, err := p.Run(&waggle.RunOptions{Context: ctx, Task: tt.task(t, mem)})
		if err != nil {
			t.Fatalf("%s: run %d (%s): %v", engine, i, r.Program, err)
		}
		if res != 0 {
			t.Errorf("%s: run %d (%s) returned %d", engine, i, r.Program, res)
		}
	}
	if tc.Events != nil {
		types := spec.Types
		if tc.Events.Header != "" {
			types = headerTypes(t, tc.Events.Header, tc.Events.Type)
		}
		var typ *btf.Struct
		if err := types.TypeByName(tc.Events.Type, &typ); err != nil {
			t.Fatalf("type %s: %v", tc.Events.Type, err)
		}
		entries, err := coll.Maps[tc.Events.Map].Dump()
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != len(tc.Events.Records) {
			t.Fatalf("%s: %d records in %s, want %d", engine, len(entries), tc.Events.Map, len(tc.Events.Records))
		}
		for i, e := range entries {
			got := map[string]any{}
			decodeBTF(typ, e.Value, "", got)
			checkFields(t, fmt.Sprintf("%s: record %d", engine, i), got, tc.Events.Records[i])
		}
	}
	for _, e := range tc.Entries {
		found := false
		it := coll.Maps[e.Map].Iterate()
		var k, v []byte
		for it.Next(&k, &v) {
			if e.Key != nil {
				key := map[string]any{}
				decodeBTF(spec.Maps[e.Map].Key, k, "", key)
				if !fieldsMatch(key, e.Key) {
					continue
				}
			}
			found = true
			what := fmt.Sprintf("%s: map %s element %x", engine, e.Map, k)
			if e.Value != nil {
				got := map[string]any{}
				decodeBTF(spec.Maps[e.Map].Value, v, "", got)
				checkFields(t, what, got, e.Value)
			}
			for i, w := range e.ValueU64 {
				if g := strconv.FormatUint(binary.NativeEndian.Uint64(v[8*i:]), 10); !matches(g, w) {
					t.Errorf("%s: word %d = %s, want %v", what, i, g, w)
				}
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Errorf("%s: map %s has no element with a key %v", engine, e.Map, e.Key)
		}
	}
	for _, mv := range tc.Maps {
		b, err := coll.Maps[mv.Map].LookupBytes(mv.Key)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			t.Errorf("%s: map %s has no key %d", engine, mv.Map, mv.Key)
			continue
		}
		got := map[string]any{}
		decodeBTF(spec.Maps[mv.Map].Value, b, "", got)
		checkFields(t, fmt.Sprintf("%s: map %s key %d", engine, mv.Map, mv.Key), got, mv.Value)
	}
	names := make([]string, 0, len(tc.MapSizes))
	for n := range tc.MapSizes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		n := 0
		it := coll.Maps[name].Iterate()
		var k, v []byte
		for it.Next(&k, &v) {
			n++
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if n != tc.MapSizes[name] {
			t.Errorf("%s: map %s has %d elements, want %d", engine, name, n, tc.MapSizes[name])
		}
	}
}

// compareWithKernel loads the object, with the case's options, into the
// kernel (as root), whose verifier must accept what waggle's accepted.
func compareWithKernel(t *testing.T, base *ebpf.CollectionSpec, set map[string]any) {
	t.Helper()
	if err := kerneltest.Available(); err != nil {
		t.Logf("not compared with the kernel: %v", err)
		return
	}
	spec := base.Copy()
	setVariables(t, spec, set)
	coll, err := kerneltest.LoadCollection(spec, ebpf.CollectionOptions{}, "")
	if err != nil {
		var ue *kerneltest.UnsupportedError
		if errors.As(err, &ue) {
			t.Logf("not compared with the kernel: %v", ue)
			return
		}
		t.Fatalf("waggle accepts the object, the kernel refuses it: %v", err)
	}
	coll.Close()
	t.Logf("the kernel (%s) accepts the object too", kerneltest.Release())
}
