package verifiertest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
)

// The committed C objects, relative to the repository root: the verifier
// corpus's own (whose sources list each program's verdict), the runtime's
// test programs (which the kernel accepts), the programs the kernel rejects
// and the examples (accepted).
var cObjectPatterns = []string{
	"testdata/verifier/c/*.o",
	"testdata/progs/*.o",
	"testdata/progs/reject/*.o",
	"examples/*/*.o",
}

// rejectedProgs are the kernel's messages for the programs of
// testdata/progs/reject (as internal/kerneltest's tests and the README of
// testdata/progs record them).
var rejectedProgs = map[string]map[string]string{
	"coarse_in_syscall.o": {"sys_coarse": "cannot use helper bpf_ktime_get_coarse_ns"},
	"helper_wrong_type.o": {"xdp_probe": "cannot use helper bpf_probe_read"},
	"infinite_loop.o":     {"rtp_forever": "infinite loop detected"},
	"null_map_value.o":    {"sock_null": "invalid mem access 'map_value_or_null'"},
	"oob_packet.o":        {"xdp_oob": "invalid access to packet"},
	"rodata_write.o":      {"tc_rodata_write": "write into map forbidden"},
}

// CObjects returns the committed clang-compiled objects whose programs have
// a recorded verdict, relative to the repository root, sorted:
// testdata/verifier/c/*.o, testdata/progs/*.o, testdata/progs/reject/*.o
// and examples/*/*.o. CPrograms gives the verdict of each of their
// programs.
func CObjects() []string {
	root := RepoRoot()
	var objs []string
	for _, pattern := range cObjectPatterns {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, p := range m {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				continue
			}
			objs = append(objs, filepath.ToSlash(rel))
		}
	}
	sort.Strings(objs)
	return objs
}

// CProgram is one program of a committed C object with the kernel's
// verdict on it. Each program is verified alone, with the object's maps
// (kerneltest.Verify loads it so).
type CProgram struct {
	// Object is the object's path relative to the repository root.
	Object string
	// Program is the program's name (its C function).
	Program string
	// Type is its program type, from its section.
	Type ebpf.ProgramType
	// Accept is the kernel's verdict as root.
	Accept bool
	// KernelMessage is, for a rejected program, a key line of the kernel's
	// verifier log (a substring of it).
	KernelMessage string
}

// CPrograms returns every program of every object of CObjects with its
// verdict, in object and program name order. The verdicts come from:
// the header comment of the source of a testdata/verifier/c object
// ("verdict PROGRAM: accept" or "verdict PROGRAM: reject: MESSAGE", a line
// for each program), the table of this package for testdata/progs/reject,
// and acceptance for the other objects. An error says which object or
// program has no verdict.
func CPrograms() ([]CProgram, error) {
	root := RepoRoot()
	var progs []CProgram
	for _, obj := range CObjects() {
		spec, err := ebpf.LoadCollectionSpec(filepath.Join(root, obj))
		if err != nil {
			return nil, fmt.Errorf("verifiertest: %w", err)
		}
		verdicts, err := objectVerdicts(obj)
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(spec.Programs))
		for name := range spec.Programs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			p := CProgram{Object: obj, Program: name, Type: spec.Programs[name].Type, Accept: true}
			if verdicts != nil {
				msg, ok := verdicts[name]
				if !ok {
					return nil, fmt.Errorf("verifiertest: %s: no verdict for program %s", obj, name)
				}
				p.Accept, p.KernelMessage = msg == "", msg
			}
			progs = append(progs, p)
		}
		for name := range verdicts {
			if spec.Programs[name] == nil {
				return nil, fmt.Errorf("verifiertest: %s: a verdict for %s, which the object does not have", obj, name)
			}
		}
	}
	return progs, nil
}

// objectVerdicts returns the recorded verdicts of an object's programs
// (name to message, "" for accept), or nil when every program is
// accepted.
func objectVerdicts(obj string) (map[string]string, error) {
	switch filepath.ToSlash(filepath.Dir(obj)) {
	case "testdata/progs/reject":
		v, ok := rejectedProgs[filepath.Base(obj)]
		if !ok {
			return nil, fmt.Errorf("verifiertest: %s: no recorded verdicts (add them to rejectedProgs)", obj)
		}
		return v, nil
	case "testdata/verifier/c":
		src := filepath.Join(RepoRoot(), strings.TrimSuffix(obj, ".o")+".c")
		return sourceVerdicts(src)
	}
	return nil, nil
}

var verdictLine = regexp.MustCompile(`^\s*\*?\s*verdict ([A-Za-z_][A-Za-z0-9_]*): (accept|reject: (.+))\s*$`)

// sourceVerdicts reads the "verdict PROGRAM: ..." lines of a C source.
func sourceVerdicts(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verifiertest: %w", err)
	}
	defer f.Close()
	verdicts := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := verdictLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if _, dup := verdicts[m[1]]; dup {
			return nil, fmt.Errorf("verifiertest: %s: two verdicts for %s", path, m[1])
		}
		verdicts[m[1]] = strings.TrimSpace(m[3])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("verifiertest: %s: %w", path, err)
	}
	if len(verdicts) == 0 {
		return nil, fmt.Errorf("verifiertest: %s lists no verdicts", path)
	}
	return verdicts, nil
}
