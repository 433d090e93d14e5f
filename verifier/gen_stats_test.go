package verifier

import (
	"os"
	"sort"
	"strings"
	"testing"
)

func TestGenStats(t *testing.T) {
	if os.Getenv("WAGGLE_GENSTATS") == "" {
		t.Skip()
	}
	count := map[string]int{}
	for i := 0; i < 3000; i++ {
		p, _ := genProgram(nil, uint64(i))
		_, err := Verify(p, Options{MaxInstructions: 200_000})
		if err != nil {
			k := err.(*Error).KernelMessage
			if j := strings.IndexAny(k, "0123456789"); j > 0 {
				k = k[:j]
			}
			count[k]++
		}
	}
	var ks []string
	for k := range count {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return count[ks[i]] > count[ks[j]] })
	for _, k := range ks {
		t.Logf("%5d %s", count[k], k)
	}
}

func TestGenStatsR(t *testing.T) {
	if os.Getenv("WAGGLE_GENSTATS") == "" {
		t.Skip()
	}
	count := map[string]int{}
	for i := 0; i < 3000; i++ {
		p, _ := genProgram(nil, uint64(i))
		_, err := Verify(p, Options{MaxInstructions: 200_000})
		if err != nil && strings.HasPrefix(err.(*Error).KernelMessage, "R") {
			count[err.(*Error).KernelMessage]++
		}
	}
	for k, n := range count {
		if n > 20 {
			t.Logf("%5d %s", n, k)
		}
	}
}
