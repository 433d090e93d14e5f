package elfsubset

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/verifier"
)

// repoObjects are the project's compiled objects (testdata and examples).
func repoObjects(t *testing.T) []string {
	var objs []string
	for _, root := range []string{"../../testdata", "../../examples", "testdata"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".o") {
				objs = append(objs, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(objs) < 50 {
		t.Fatalf("found %d objects under testdata and examples, expected the project's 80 or more", len(objs))
	}
	return objs
}

// ciliumObjects are Cilium's objects of the ebpf-samples corpus, when
// WAGGLE_EBPF_SAMPLES names a checkout of it.
func ciliumObjects() []string {
	dir := os.Getenv("WAGGLE_EBPF_SAMPLES")
	if dir == "" {
		return nil
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "cilium-core", "*.o"))
	return objs
}

// TestSubsetSameProgram reads every program of every object both ways,
// the whole object and the subset of that program, and requires the same
// program (instructions, their metadata: symbols, references, source
// lines, functions, CO-RE relocations), the same maps — of the whole
// object's, those that what stays refers to, every map the program uses
// among them — and variables; for
// the project's objects also the same verdict and statistics of the
// verifier. With WAGGLE_EBPF_SAMPLES, Cilium's objects too (without the
// verification: it takes seconds). Objects whose subset cannot be made
// (one program) or read (a reference into another program's section) are
// counted, and must be read whole by the caller.
func TestSubsetSameProgram(t *testing.T) {
	objs := repoObjects(t)
	cilium := ciliumObjects()
	if len(cilium) == 0 {
		t.Log("Cilium's objects not compared: set WAGGLE_EBPF_SAMPLES to a checkout of the ebpf-samples corpus")
	}
	subsets, refused, unreadable, mapsHidden := 0, 0, 0, 0
	for _, obj := range append(objs, cilium...) {
		verify := !strings.Contains(obj, "cilium-core")
		data, err := os.ReadFile(obj)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(data))
		if err != nil {
			continue // an object of a test of bad objects: nothing to compare
		}
		names := make([]string, 0, len(whole.Programs))
		for n := range whole.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			sub, ok := Program(data, name)
			if !ok {
				refused++
				if len(names) > 1 {
					t.Logf("%s %s: no subset", obj, name)
				}
				continue
			}
			spec, err := ebpf.LoadCollectionSpecFromReader(sub)
			if err != nil {
				unreadable++
				t.Logf("%s %s: the subset is not readable (the whole object is read instead): %v", obj, name, err)
				continue
			}
			subsets++
			if sub.Dropped+sub.Hidden > 0 && len(spec.Programs) >= len(whole.Programs) {
				t.Errorf("%s %s: the subset has %d programs, the whole object %d", obj, name, len(spec.Programs), len(whole.Programs))
			}
			if spec.Programs[name] == nil {
				t.Errorf("%s %s: the subset lacks the program", obj, name)
				continue
			}
			if got, want := describeProgram(spec.Programs[name]), describeProgram(whole.Programs[name]); got != want {
				t.Errorf("%s %s: the program differs:\nsubset: %s\nwhole:  %s", obj, name, firstDiff(got, want), firstDiff(want, got))
			}
			// The subset's maps are the whole object's but those nothing
			// that stays refers to: at least every map the program uses.
			for _, ins := range whole.Programs[name].Instructions {
				if ref := ins.Reference(); whole.Maps[ref] != nil && spec.Maps[ref] == nil {
					t.Errorf("%s %s: the subset lacks map %s, which the program uses", obj, name, ref)
				}
			}
			if len(whole.Maps)-len(spec.Maps) != sub.MapsHidden {
				t.Errorf("%s %s: the subset has %d maps, the whole object %d, but %d were hidden", obj, name, len(spec.Maps), len(whole.Maps), sub.MapsHidden)
			}
			mapsHidden += sub.MapsHidden
			if got, want := describeMaps(spec), describeMaps(only(whole, spec.Maps)); got != want {
				t.Errorf("%s %s: the maps differ:\nsubset: %s\nwhole:  %s", obj, name, got, want)
			}
			if got, want := describeVariables(spec), describeVariables(whole); got != want {
				t.Errorf("%s %s: the variables differ:\nsubset: %s\nwhole:  %s", obj, name, got, want)
			}
			if verify {
				if got, want := verdict(spec, name), verdict(whole, name); got != want {
					t.Errorf("%s %s: the verifier's verdict differs:\nsubset: %s\nwhole:  %s", obj, name, got, want)
				}
			}
		}
	}
	t.Logf("%d programs read as subsets, %d without a subset (objects of one program, functions of .text), %d subsets not readable; %d maps hidden in all", subsets, refused, unreadable, mapsHidden)
	if mapsHidden == 0 {
		t.Error("no subset hid a map: several of the project's objects have maps that only some of their programs use")
	}
	if subsets < 40 {
		t.Errorf("only %d programs read as subsets: the project's objects have more than 40 programs in objects of several", subsets)
	}
}

// TestProgramRefuses lists what Program leaves to the whole object.
func TestProgramRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, obj, prog         string
		want                    bool
		wantDropped, wantHidden int
	}{
		{"one of several", "../../testdata/sock/sock_progs.o", "connect4_redirect", true, 7, 0},
		{"program with functions", "../../testdata/progs/subprogs.o", "sock_subprogs", true, 1, 0},
		{"programs of one section", "../../testdata/progs/xdp_parse.o", "xdp_parse", true, 0, 1},
		{"calling a function of its section", "testdata/same_section.o", "xdp_caller", true, 1, 0},
		{"its section's other functions", "testdata/same_section.o", "xdp_plain", true, 1, 2},
		{"global function of .text", "../../testdata/progs/subprogs.o", "global_scale", false, 0, 0},
		{"static function of .text", "../../testdata/progs/subprogs.o", "add5", false, 0, 0},
		{"no such program", "../../testdata/progs/subprogs.o", "nope", false, 0, 0},
		{"only program", "../../examples/firewall/firewall.o", "firewall", false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			sub, ok := Program(data, tc.prog)
			if ok != tc.want {
				t.Fatalf("Program(%s, %q) ok = %v, want %v", tc.obj, tc.prog, ok, tc.want)
			}
			if ok && (sub.Kept == 0 || sub.Dropped != tc.wantDropped || sub.Hidden != tc.wantHidden || sub.Size() != int64(len(data))) {
				t.Errorf("kept %d, dropped %d (want %d), hidden %d (want %d), size %d of %d", sub.Kept, sub.Dropped, tc.wantDropped, sub.Hidden, tc.wantHidden, sub.Size(), len(data))
			}
		})
	}
	for _, bad := range [][]byte{nil, []byte("\x7fELF"), bytes.Repeat([]byte{0xff}, 64), []byte("not an object at all, but long enough to be an ELF header, isn't it")} {
		if _, ok := Program(bad, "x"); ok {
			t.Errorf("Program(%q) made a subset", bad)
		}
	}
}

// TestReadAt reads a subset in pieces across its patches.
func TestReadAt(t *testing.T) {
	s := &Subset{data: []byte("0123456789"), patches: []patch{{2, []byte("ab")}, {8, []byte("cd")}}}
	for _, tc := range []struct {
		off  int64
		n    int
		want string
		eof  bool
	}{
		{0, 10, "01ab4567cd", false},
		{3, 2, "b4", false},
		{7, 5, "7cd", true},
		{9, 1, "d", false},
		{10, 1, "", true},
		{-1, 1, "", true},
	} {
		p := make([]byte, tc.n)
		n, err := s.ReadAt(p, tc.off)
		if string(p[:n]) != tc.want || (err != nil) != tc.eof {
			t.Errorf("ReadAt(%d, %d) = %q, %v; want %q (error %v)", tc.off, tc.n, p[:n], err, tc.want, tc.eof)
		}
	}
}

// FuzzProgram: whatever the bytes, Program and reading what it returns
// (as cmd/waggle reads it) neither panic nor hang.
func FuzzProgram(f *testing.F) {
	for _, obj := range []string{"../../testdata/progs/xdp_parse.o", "../../testdata/progs/subprogs.o"} {
		data, err := os.ReadFile(obj)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "xdp_parse")
		f.Add(data, "sock_subprogs")
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		sub, ok := Program(data, name)
		if !ok {
			return
		}
		if sub.Size() != int64(len(data)) {
			t.Fatalf("size %d, want %d", sub.Size(), len(data))
		}
		// As cmd/waggle reads it: waggle's checks of the ELF structure first.
		waggle.LoadCollectionSpecFromReader(sub) //nolint:errcheck // only that it returns
	})
}

func describeProgram(p *ebpf.ProgramSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %v %v %q %q %q %d %d %v|", p.Name, p.Type, p.AttachType, p.AttachTo, p.SectionName, p.License, p.KernelVersion, p.Flags, p.ByteOrder)
	for i, ins := range p.Instructions {
		fmt.Fprintf(&b, "%d: %v %v %v %d %d ref=%q sym=%q", i, ins.OpCode, ins.Dst, ins.Src, ins.Offset, ins.Constant, ins.Reference(), ins.Symbol())
		if src := ins.Source(); src != nil {
			fmt.Fprintf(&b, " src=%q", src.String())
			if l, ok := src.(*btf.Line); ok {
				fmt.Fprintf(&b, " %s:%d:%d", l.FileName(), l.LineNumber(), l.LineColumn())
			}
		}
		if fn := btf.FuncMetadata(&ins); fn != nil {
			fmt.Fprintf(&b, " func=%s %v", fn.Name, fn.Type)
		}
		if rel := btf.CORERelocationMetadata(&ins); rel != nil {
			fmt.Fprintf(&b, " core=%v", rel)
		}
		if m := ins.Map(); m != nil {
			fmt.Fprintf(&b, " map=%v", m)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func describeMaps(s *ebpf.CollectionSpec) string {
	names := make([]string, 0, len(s.Maps))
	for n := range s.Maps {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		m := s.Maps[n]
		fmt.Fprintf(&b, "%s %v %d %d %d %d %v %x key=%s value=%s contents=%v", n, m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags, m.Pinning, m.MapExtra, typeName(m.Key), typeName(m.Value), m.Contents)
		if m.InnerMap != nil {
			fmt.Fprintf(&b, " inner=%v %d %d %d", m.InnerMap.Type, m.InnerMap.KeySize, m.InnerMap.ValueSize, m.InnerMap.MaxEntries)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// only is s with the maps named in keep only.
func only(s *ebpf.CollectionSpec, keep map[string]*ebpf.MapSpec) *ebpf.CollectionSpec {
	c := *s
	c.Maps = map[string]*ebpf.MapSpec{}
	for n, m := range s.Maps {
		if keep[n] != nil {
			c.Maps[n] = m
		}
	}
	return &c
}

func typeName(t btf.Type) string {
	if t == nil {
		return "-"
	}
	return fmt.Sprintf("%v", t)
}

func describeVariables(s *ebpf.CollectionSpec) string {
	names := make([]string, 0, len(s.Variables))
	for n := range s.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		v := s.Variables[n]
		fmt.Fprintf(&b, "%s %s %d %d %v %x %v\n", n, v.SectionName, v.Offset, v.Size(), v.Constant(), v.Value, typeName(v.Type))
	}
	return b.String()
}

func verdict(s *ebpf.CollectionSpec, name string) string {
	p, err := verifier.ProgramFromSpec(s.Programs[name], s.Maps)
	if err != nil {
		return "ProgramFromSpec: " + err.Error()
	}
	st, err := verifier.Verify(p, verifier.Options{})
	if st == nil {
		return fmt.Sprintf("error %v", err)
	}
	return fmt.Sprintf("%d insns, %d peak, %d total states, error %v", st.InstructionsProcessed, st.PeakStates, st.TotalStates, err)
}

// firstDiff is a, from a little before where it first differs from b.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	start := max(0, i-80)
	return a[start:min(len(a), i+160)]
}

// TestSubsetUnreadable: when what stays refers into a hidden section (a
// program array initialised with programs of other sections), reading
// the subset fails, for the caller to read the whole object.
func TestSubsetUnreadable(t *testing.T) {
	data, err := os.ReadFile("testdata/prog_array.o")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Programs) != 3 {
		t.Fatalf("%d programs, want 3", len(whole.Programs))
	}
	for name := range whole.Programs {
		sub, ok := Program(data, name)
		if !ok {
			t.Errorf("%s: no subset", name)
			continue
		}
		if _, err := ebpf.LoadCollectionSpecFromReader(sub); err == nil || !strings.Contains(err.Error(), "reference to") {
			t.Errorf("%s: reading the subset gave %v, want an error about a reference into a hidden section", name, err)
		}
	}
}
