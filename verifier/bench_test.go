package verifier

import (
	"path/filepath"
	"sort"
	"testing"
)

// BenchmarkVerify measures the verification of each of the project's
// objects (all its programs). Metrics: insns/op is the instructions the
// verifier processed, states/op the checkpoints it recorded; as root,
// kernel-ns/op is the kernel's own verification time for the same
// programs ("verification time" of its log), for comparison with ns/op.
//
//	go test ./verifier -run XXX -bench Verify
func BenchmarkVerify(b *testing.B) {
	for _, obj := range objectFiles(b) {
		progs := loadObject(b, obj)
		names := make([]string, 0, len(progs))
		for n := range progs {
			names = append(names, n)
		}
		sort.Strings(names)
		b.Run(filepath.Base(filepath.Dir(obj))+"/"+filepath.Base(obj), func(b *testing.B) {
			kernelUs, kernelOK := 0, kernelAvailable() == nil
			if kernelOK {
				for _, n := range names {
					_, us, err := kernelObjectStats(obj, n)
					if err != nil {
						kernelOK = false
						break
					}
					kernelUs += us
				}
			}
			insns, states := 0, 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				insns, states = 0, 0
				for _, n := range names {
					st, err := Verify(progs[n], Options{})
					if err != nil {
						b.Fatalf("%s: %v", n, err)
					}
					insns += st.InstructionsProcessed
					states += st.TotalStates
				}
			}
			b.ReportMetric(float64(insns), "insns/op")
			b.ReportMetric(float64(states), "states/op")
			if kernelOK {
				b.ReportMetric(float64(kernelUs)*1000, "kernel-ns/op")
			}
		})
	}
}
