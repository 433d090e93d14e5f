package verifier

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
)

// ciliumObjectStats is one program of Cilium's objects: waggle's verdict
// and processed instructions, and the kernel's.
type ciliumObjectStats struct {
	object, program string
	waggle          int
	waggleErr       error
	waggleTime      time.Duration
	kernel          int
	kernelUsec      int
	kernelOK        bool
	kernelErr       error  // the kernel could not be asked (missing map type, ...)
	kernelMsg       string // why the kernel rejected the program
}

// TestCiliumObjects verifies every program of Cilium's objects
// (WAGGLE_EBPF_SAMPLES/cilium-core) and, as root, loads each into the
// kernel: it prints, per program, the instructions waggle's verifier and
// the kernel's processed and both verdicts, and requires that waggle
// accepts what the kernel accepts and rejects what it rejects.
// WAGGLE_CILIUM_OBJECT limits it to the objects whose name contains the
// value.
func TestCiliumObjects(t *testing.T) {
	dir := os.Getenv("WAGGLE_EBPF_SAMPLES")
	if dir == "" {
		t.Skip("skipped: set WAGGLE_EBPF_SAMPLES to a copy of github.com/vbpf/ebpf-samples (its cilium-core folder holds Cilium's objects)")
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "cilium-core", "*.o"))
	if len(objs) == 0 {
		t.Skipf("skipped: no objects in %s", filepath.Join(dir, "cilium-core"))
	}
	only := os.Getenv("WAGGLE_CILIUM_OBJECT")
	kernelOK := kernelAvailable() == nil
	var rows []ciliumObjectStats
	for _, obj := range objs {
		if only != "" && !strings.Contains(filepath.Base(obj), only) {
			continue
		}
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			row := ciliumObjectStats{object: filepath.Base(obj), program: n}
			p, err := ProgramFromSpec(spec.Programs[n], spec.Maps)
			if err != nil {
				t.Errorf("%s: %s: %v", obj, n, err)
				continue
			}
			st, werr := Verify(p, Options{})
			row.waggle, row.waggleErr, row.waggleTime = st.InstructionsProcessed, werr, st.Duration
			if kernelOK {
				row.kernel, row.kernelUsec, row.kernelOK, row.kernelMsg, row.kernelErr = kernelObjectVerdict(obj, n)
			}
			rows = append(rows, row)
		}
	}
	agree, total, fewer := 0, 0, 0
	t.Logf("%-18s %-36s %9s %9s %6s %9s %9s %s", "object", "program", "waggle", "kernel", "ratio", "waggle", "kernel", "verdicts")
	for _, r := range rows {
		verdict := func(err error) string {
			if err != nil {
				return "rejected"
			}
			return "accepted"
		}
		kv, ratio := "-", "-"
		if r.kernelErr != nil {
			kv = "kernel: " + r.kernelErr.Error()
		} else if kernelOK {
			kv = "rejected (" + r.kernelMsg + ")"
			if r.kernelOK {
				kv = "accepted"
			}
			if r.kernel > 0 {
				ratio = fmt.Sprintf("%.2f", float64(r.waggle)/float64(r.kernel))
			}
			total++
			if r.kernelOK == (r.waggleErr == nil) {
				agree++
			} else {
				t.Errorf("%s %s: kernel accepted=%v (%d insns), waggle: %v (%d insns)", r.object, r.program, r.kernelOK, r.kernel, r.waggleErr, r.waggle)
			}
			if r.waggle <= r.kernel {
				fewer++
			}
		}
		t.Logf("%-18s %-36s %9d %9d %6s %9s %9s waggle %s, kernel %s", r.object, r.program, r.waggle, r.kernel, ratio,
			r.waggleTime.Round(time.Microsecond), time.Duration(r.kernelUsec)*time.Microsecond, verdict(r.waggleErr), kv)
	}
	if kernelOK {
		t.Logf("Cilium's objects: waggle's verdict is the kernel's on %d of %d programs; waggle processes at most the kernel's instructions on %d", agree, total, fewer)
	}
}

// kernelObjectVerdict loads program prog of an object into the kernel and
// returns the instructions its verifier processed, its time and verdict;
// err reports that the kernel could not be asked (a map it cannot
// create, ...).
func kernelObjectVerdict(path, prog string) (processed, usec int, accepted bool, msg string, err error) {
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		return 0, 0, false, "", err
	}
	for _, m := range spec.Maps {
		m.Pinning = ebpf.PinNone
		if m.Type == ebpf.ProgramArray {
			m.Contents = nil
		}
	}
	for n := range spec.Programs {
		if n != prog {
			delete(spec.Programs, n)
		}
	}
	parse := func(lines []string) {
		for _, line := range lines {
			fmt.Sscanf(line, "verification time %d usec", &usec)
			if strings.HasPrefix(line, "processed ") {
				fmt.Sscanf(line, "processed %d insns", &processed)
			}
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats, LogSizeStart: 1 << 20}})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			parse(ve.Log)
			for i := len(ve.Log) - 1; i >= 0; i-- {
				if l := strings.TrimSpace(ve.Log[i]); l != "" && !strings.HasPrefix(l, "processed ") && !strings.HasPrefix(l, "verification time") && !strings.HasPrefix(l, "stack depth") {
					msg = l
					break
				}
			}
			if lack := kernelLacksHelper(msg, spec.Programs[prog].Type); lack != nil {
				return processed, usec, false, msg, lack
			}
			return processed, usec, false, msg, nil
		}
		return 0, 0, false, "", err
	}
	defer coll.Close()
	parse(strings.Split(coll.Programs[prog].VerifierLog, "\n"))
	return processed, usec, true, "", nil
}

// kernelLacksHelper says, for a refusal of a program of type typ that
// names a helper its type cannot use, whether this kernel lacks the helper
// for the type altogether (probed): then the refusal is about the host's
// kernel, not about the program, and the verdict is not compared.
func kernelLacksHelper(msg string, typ ebpf.ProgramType) error {
	i := strings.Index(msg, "cannot use helper ")
	if i < 0 {
		return nil
	}
	var name string
	var id int
	if _, err := fmt.Sscanf(strings.ReplaceAll(msg[i+len("cannot use helper "):], "#", " "), "%s %d", &name, &id); err != nil {
		return nil
	}
	if err := features.HaveProgramHelper(typ, asm.BuiltinFunc(id)); err != nil {
		return fmt.Errorf("this kernel (probed) lacks %s for %s programs: %w", name, typ, err)
	}
	return nil
}

// BenchmarkVerifyCilium verifies every program of each of Cilium's
// objects (WAGGLE_EBPF_SAMPLES/cilium-core) once per iteration. Metrics:
// insns/op is the instructions processed, rejected/op the programs
// rejected (at the instruction limit or otherwise), states/op the
// checkpoints recorded, peakstates the most checkpoints alive at once in
// one program's verification (the largest over the object's programs).
//
//	WAGGLE_EBPF_SAMPLES=... go test ./verifier -run XXX -bench VerifyCilium -benchtime 1x -count 3
func BenchmarkVerifyCilium(b *testing.B) {
	dir := os.Getenv("WAGGLE_EBPF_SAMPLES")
	if dir == "" {
		b.Skip("skipped: set WAGGLE_EBPF_SAMPLES to a copy of github.com/vbpf/ebpf-samples")
	}
	objs, _ := filepath.Glob(filepath.Join(dir, "cilium-core", "*.o"))
	if len(objs) == 0 {
		b.Skipf("skipped: no objects in %s", filepath.Join(dir, "cilium-core"))
	}
	for _, obj := range objs {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			b.Fatalf("%s: %v", obj, err)
		}
		var progs []*Program
		for _, n := range sortedKeys(spec.Programs) {
			p, err := ProgramFromSpec(spec.Programs[n], spec.Maps)
			if err != nil {
				b.Fatalf("%s: %s: %v", obj, n, err)
			}
			progs = append(progs, p)
		}
		b.Run(filepath.Base(obj), func(b *testing.B) {
			insns, rejected, states, peak := 0, 0, 0, 0
			for i := 0; i < b.N; i++ {
				insns, rejected, states, peak = 0, 0, 0, 0
				for _, p := range progs {
					st, err := Verify(p, Options{})
					insns += st.InstructionsProcessed
					states += st.TotalStates
					peak = max(peak, st.PeakStates)
					if err != nil {
						rejected++
					}
				}
			}
			b.ReportMetric(float64(insns), "insns/op")
			b.ReportMetric(float64(rejected), "rejected/op")
			b.ReportMetric(float64(states), "states/op")
			b.ReportMetric(float64(peak), "peakstates")
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
