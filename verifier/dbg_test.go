package verifier

import (
	"os"
	"testing"

	"github.com/waggle-ebpf/waggle/assembler"
)

func TestDebugLog(t *testing.T) {
	path := os.Getenv("WAGGLE_DBG")
	if path == "" {
		t.Skip()
	}
	src, _ := os.ReadFile(path)
	insns, err := assembler.Assemble(string(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify(&Program{Type: testProgType(t, os.Getenv("WAGGLE_TYPE")), Instructions: insns, Maps: parseMaps(t)}, Options{Log: os.Stdout, LogLevel: 2})
	t.Log(err)
}

func parseMaps(t *testing.T) []*Map {
	var out []*Map
	for _, f := range splitFields(os.Getenv("WAGGLE_MAPS")) {
		out = append(out, parseTestMap(t, f))
	}
	return out
}

func splitFields(s string) []string {
	var out []string
	cur := ""
	for _, c := range s {
		if c == ' ' {
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			continue
		}
		cur += string(c)
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}
