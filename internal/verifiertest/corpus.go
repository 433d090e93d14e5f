// Package verifiertest holds the verifier's test corpus and the kernel
// oracle that recorded its verdicts.
//
// The corpus is a set of small programs, one a file, in
// testdata/verifier/cases/*.s. Each file starts with a header of
// "# key: value" lines, followed by the program in the syntax of package
// assembler:
//
//	# name: null_deref_unchecked
//	# category: null
//	# type: xdp
//	# map: hash key=4 value=8 entries=16
//	# description: dereferences a hash lookup's result without checking it
//	# verdict: reject
//	# kernel-message: R0 invalid mem access 'map_value_or_null'
//	        stw [%r10-4], 0
//	        lddw %r1, map_fd 0
//	        ...
//
// The keys:
//
//   - name: the case's name, the file's name without ".s".
//   - category: one of Categories.
//   - type: the program type: xdp, tc (sched_cls), socket (socket filter),
//     syscall (loaded sleepable, as the kernel requires), raw_tp (raw
//     tracepoint) or kprobe.
//   - map: one line a map, in order: its type (array, hash, percpu_array,
//     percpu_hash, lru_hash, ringbuf, prog_array, queue, stack, perf_array,
//     lpm_trie, bloom_filter) and key=, value=, entries= sizes, flags= the
//     map flags (BPF_F_NO_PREALLOC is 1); lock=OFF gives the value BTF with a
//     struct bpf_spin_lock at byte OFF (the kernel allows bpf_spin_lock only
//     in values described by BTF). The program refers to a map with
//     "lddw %rN, map_fd I" (source PseudoMapFD, immediate I = the map's index
//     in the case's map lines, from 0) or "lddw %rN, map_value I, OFF"
//     (source PseudoMapValue, the low 32 bits of the immediate I, the high
//     32 bits the offset OFF into the value).
//   - func-info: yes or no: whether the program is loaded with BTF func_info
//     (see Case.FuncInfo); optional, yes for programs with subprograms.
//   - description: what the case tests (may repeat; every case has one).
//   - verdict: accept or reject: what the Linux kernel's verifier said when
//     the program was loaded as root (CAP_SYS_ADMIN: privileged semantics,
//     pointer leaks and reads of uninitialized stack allowed, no Spectre
//     sanitation verdicts).
//   - kernel-message: for a rejection, the key line of the kernel's verifier
//     log (a substring of the log the kernel returned; see KeyLine).
//   - kernel-change: the name of a change of the kernel's verifier
//     (kerneltest.VerifierChanges) that the verdict depends on: a kernel
//     without it gives another verdict; optional.
//
// Besides the cases, CObjects and CPrograms list the committed
// clang-compiled objects and the kernel's verdict on each of their
// programs, and KernelVerdict and KernelTrace load a case into the running
// kernel. testdata/verifier/README.md describes the corpus and what the
// kernel's verdicts showed.
//
// The verdicts and messages were recorded by loading every case into the
// kernel (go test ./internal/verifiertest -run TestKernelVerdicts -update
// rewrites them); TestKernelVerdicts checks that the kernel still agrees.
package verifiertest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/isa"
)

// Case is one program of the corpus with the kernel's verdict on it.
type Case struct {
	// Name is unique in the corpus: the file's name without ".s".
	Name string
	// Category is one of Categories.
	Category string
	// Type is the program type.
	Type ebpf.ProgramType
	// Maps are the maps the program uses, in the order of the file's map
	// lines. They are specifications, to be created before the program is
	// loaded; a spin lock's map has BTF for its key and value.
	Maps []*ebpf.MapSpec
	// Instructions is the program. A reference to a map is an lddw whose
	// source is isa.PseudoMapFD and whose immediate is the map's index in
	// Maps, or whose source is isa.PseudoMapValue with the index in the low
	// 32 bits of the immediate and the offset into the value in the high 32
	// bits. A loader replaces the index with the map it created from
	// Maps[index].
	Instructions isa.Instructions
	// FuncInfo is whether the program is loaded with BTF describing its
	// functions (a func_info record, a static function of type
	// "long f(void)", at the start of the main program and of every
	// subprogram), as clang's objects are. The kernel needs it for
	// callbacks (bpf_loop, bpf_for_each_map_elem). It is the file's
	// func-info key, which defaults to yes for programs with subprograms
	// and no for the others.
	FuncInfo bool
	// Accept is the kernel's verdict: true when it loaded the program.
	Accept bool
	// KernelMessage is, for a rejected program, the key line of the
	// kernel's verifier log (a substring of it); empty for accepted ones.
	KernelMessage string
	// KernelChange names the change of the kernel's verifier
	// (kerneltest.VerifierChanges) that the verdict depends on, "" when
	// none: a kernel that predates it gives the other verdict.
	KernelChange string
	// Description says what the case tests.
	Description string
	// Source is the program's assembly text (the file without its header).
	Source string
	// File is the case's file, relative to the repository root.
	File string
}

// Categories are the corpus's categories, each with accepted and rejected
// cases.
var Categories = []string{
	"bounds",    // scalar ranges, signed/unsigned, 32-bit subregisters, shifts, masks
	"packet",    // data/data_end comparisons, constant and variable offsets
	"map_value", // constant and variable offsets into map values, value_size edges
	"null",      // map_lookup_elem results checked and not checked
	"stack",     // uninitialized reads, out of frame, misaligned, variable offsets
	"spill",     // spilling and filling pointers and scalars
	"loop",      // bounded and unbounded loops, bpf_loop
	"call",      // bpf-to-bpf calls, arguments, stack depth across frames
	"helper",    // helper argument types
	"reference", // acquired references: ring buffer records, spin locks
	"context",   // context fields per program type
	"pointer",   // pointer arithmetic, comparisons and leaks
	"jump",      // control flow: lddw, range, unreachable code, the end, r10
	"division",  // division and modulo by registers and zero
	"atomic",    // atomic operations on stack, map values and context
	"tail_call", // bpf_tail_call
}

// ProgramTypes maps the names of the corpus's type key to program types.
var ProgramTypes = map[string]ebpf.ProgramType{
	"xdp":     ebpf.XDP,
	"tc":      ebpf.SchedCLS,
	"socket":  ebpf.SocketFilter,
	"syscall": ebpf.Syscall,
	"raw_tp":  ebpf.RawTracepoint,
	"kprobe":  ebpf.Kprobe,
}

// mapTypes maps the names of the corpus's map lines to map types.
var mapTypes = map[string]ebpf.MapType{
	"array":        ebpf.Array,
	"hash":         ebpf.Hash,
	"percpu_array": ebpf.PerCPUArray,
	"percpu_hash":  ebpf.PerCPUHash,
	"lru_hash":     ebpf.LRUHash,
	"ringbuf":      ebpf.RingBuf,
	"prog_array":   ebpf.ProgramArray,
	"queue":        ebpf.Queue,
	"stack":        ebpf.Stack,
	"perf_array":   ebpf.PerfEventArray,
	"lpm_trie":     ebpf.LPMTrie,
	"bloom_filter": ebpf.BloomFilter,
}

// RepoRoot returns the repository's root directory, found from this source
// file's location.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// CasesDir is the corpus's directory relative to the repository root.
const CasesDir = "testdata/verifier/cases"

// Cases loads the corpus, sorted by name.
func Cases() ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(RepoRoot(), CasesDir, "*.s"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("verifiertest: no cases in %s", filepath.Join(RepoRoot(), CasesDir))
	}
	sort.Strings(files)
	var cases []Case
	var errs []error
	for _, f := range files {
		c, err := ParseFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cases = append(cases, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cases, nil
}

// ParseFile reads one case file.
func ParseFile(path string) (Case, error) {
	return parseFile(path, true)
}

func parseFile(path string, needVerdict bool) (Case, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return Case{}, err
	}
	c, err := parse(string(text), needVerdict)
	if err != nil {
		return Case{}, fmt.Errorf("%s: %w", path, err)
	}
	if want := strings.TrimSuffix(filepath.Base(path), ".s"); c.Name != want {
		return Case{}, fmt.Errorf("%s: name %q, want the file's name %q", path, c.Name, want)
	}
	if rel, err := filepath.Rel(RepoRoot(), path); err == nil {
		c.File = filepath.ToSlash(rel)
	} else {
		c.File = path
	}
	return c, nil
}

// headerKey returns the key and value of a header line, "# key: value".
func headerKey(line string) (key, value string, ok bool) {
	rest, ok := strings.CutPrefix(line, "#")
	if !ok {
		return "", "", false
	}
	key, value, ok = strings.Cut(strings.TrimSpace(rest), ":")
	if !ok {
		return "", "", false
	}
	switch key {
	case "name", "category", "type", "map", "func-info", "description", "verdict", "kernel-message", "kernel-change":
		return key, strings.TrimSpace(value), true
	}
	return "", "", false
}

// Parse reads the text of one case file.
func Parse(text string) (Case, error) {
	return parse(text, true)
}

// parse reads a case; without needVerdict, a case without a verdict (a new
// one, before -update has recorded the kernel's) is read as rejected.
func parse(text string, needVerdict bool) (Case, error) {
	var c Case
	var body strings.Builder
	var descr []string
	seen := map[string]bool{}
	verdict := ""
	funcInfo := ""
	inHeader := true
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if inHeader {
			key, value, ok := headerKey(line)
			if ok {
				if seen[key] && key != "map" && key != "description" {
					return c, fmt.Errorf("line %d: %s given twice", n, key)
				}
				seen[key] = true
				switch key {
				case "name":
					c.Name = value
				case "category":
					if !slices.Contains(Categories, value) {
						return c, fmt.Errorf("line %d: unknown category %q", n, value)
					}
					c.Category = value
				case "type":
					t, ok := ProgramTypes[value]
					if !ok {
						return c, fmt.Errorf("line %d: unknown program type %q", n, value)
					}
					c.Type = t
				case "map":
					m, err := parseMap(value, len(c.Maps))
					if err != nil {
						return c, fmt.Errorf("line %d: %w", n, err)
					}
					c.Maps = append(c.Maps, m)
				case "description":
					descr = append(descr, value)
				case "func-info":
					funcInfo = value
				case "verdict":
					verdict = value
				case "kernel-message":
					c.KernelMessage = value
				case "kernel-change":
					if kerneltest.VerifierChangeNamed(value) == nil {
						return c, fmt.Errorf("line %d: unknown kernel change %q", n, value)
					}
					c.KernelChange = value
				}
				continue
			}
			inHeader = false
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	c.Description = strings.Join(descr, " ")
	c.Source = body.String()
	switch {
	case c.Name == "":
		return c, errors.New("no name")
	case c.Category == "":
		return c, errors.New("no category")
	case c.Type == ebpf.UnspecifiedProgram:
		return c, errors.New("no type")
	}
	switch verdict {
	case "accept":
		c.Accept = true
		if c.KernelMessage != "" {
			return c, errors.New("an accepted case has a kernel-message")
		}
	case "reject":
		if c.KernelMessage == "" && needVerdict {
			return c, errors.New("a rejected case needs a kernel-message")
		}
	default:
		if needVerdict || verdict != "" {
			return c, fmt.Errorf("verdict %q: want accept or reject", verdict)
		}
	}
	insns, err := assembler.Assemble(c.Source)
	if err != nil {
		return c, err
	}
	if len(insns) == 0 {
		return c, errors.New("no instructions")
	}
	for i, ins := range insns {
		if !ins.IsLdDW() {
			continue
		}
		switch uint8(ins.Src) {
		case isa.PseudoMapFD, isa.PseudoMapValue:
			if idx := int(int32(ins.Imm)); idx < 0 || idx >= len(c.Maps) {
				return c, fmt.Errorf("instruction %d refers to map %d; the case has %d maps", i, idx, len(c.Maps))
			}
		}
	}
	c.Instructions = insns
	switch funcInfo {
	case "":
		c.FuncInfo = len(FunctionStarts(insns)) > 1
	case "yes":
		c.FuncInfo = true
	case "no":
	default:
		return c, fmt.Errorf("func-info %q: want yes or no", funcInfo)
	}
	return c, nil
}

// FunctionStarts returns the indexes in insns of the first instruction of
// the main program (0) and of every subprogram: the targets of bpf-to-bpf
// calls and of lddw of a function's address, in order. Targets outside the
// program are left out.
func FunctionStarts(insns isa.Instructions) []int {
	slotToIndex := map[int]int{}
	slot := 0
	for i, ins := range insns {
		slotToIndex[slot] = i
		slot += ins.Slots()
	}
	starts := map[int]bool{0: true}
	slot = 0
	for _, ins := range insns {
		if ins.IsLocalCall() || ins.IsLdDW() && uint8(ins.Src) == isa.PseudoFunc {
			if target, ok := ins.JumpTarget(slot); ok {
				if i, in := slotToIndex[target]; in {
					starts[i] = true
				}
			}
		}
		slot += ins.Slots()
	}
	out := make([]int, 0, len(starts))
	for i := range starts {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// parseMap reads a map line: "array key=4 value=8 entries=16 [lock=0]".
func parseMap(s string, index int) (*ebpf.MapSpec, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, errors.New("empty map line")
	}
	typ, ok := mapTypes[fields[0]]
	if !ok {
		return nil, fmt.Errorf("unknown map type %q", fields[0])
	}
	m := &ebpf.MapSpec{Name: "m" + strconv.Itoa(index), Type: typ}
	lock := -1
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("map field %q: want key=value", f)
		}
		n, err := strconv.ParseUint(v, 0, 32)
		if err != nil {
			return nil, fmt.Errorf("map field %q: %w", f, err)
		}
		switch k {
		case "key":
			m.KeySize = uint32(n)
		case "value":
			m.ValueSize = uint32(n)
		case "entries":
			m.MaxEntries = uint32(n)
		case "flags":
			m.Flags = uint32(n)
		case "lock":
			lock = int(n)
		default:
			return nil, fmt.Errorf("unknown map field %q", k)
		}
	}
	if lock >= 0 {
		if lock+4 > int(m.ValueSize) || lock%4 != 0 {
			return nil, fmt.Errorf("lock=%d does not fit a %d-byte value", lock, m.ValueSize)
		}
		u32 := &btf.Int{Name: "unsigned int", Size: 4}
		spinLock := &btf.Struct{Name: "bpf_spin_lock", Size: 4, Members: []btf.Member{{Name: "val", Type: u32}}}
		m.Key = &btf.Int{Name: "unsigned int", Size: m.KeySize}
		m.Value = &btf.Struct{Name: "locked_value", Size: m.ValueSize, Members: []btf.Member{
			{Name: "lock", Type: spinLock, Offset: btf.Bits(lock * 8)},
		}}
	}
	return m, nil
}

// TypeName returns the corpus's name of a program type.
func TypeName(t ebpf.ProgramType) string {
	for name, pt := range ProgramTypes {
		if pt == t {
			return name
		}
	}
	return t.String()
}
