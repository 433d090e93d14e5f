package verifier

import (
	"os"
	"testing"

	"github.com/waggle-ebpf/waggle/assembler"
)

func TestProfileAsm(t *testing.T) {
	path := os.Getenv("WAGGLE_PROF_ASM")
	if path == "" {
		t.Skip()
	}
	src, _ := os.ReadFile(path)
	insns, err := assembler.Assemble(string(src))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Verify(&Program{Type: testProgType(t, os.Getenv("WAGGLE_TYPE")), Instructions: insns}, Options{})
	t.Logf("%+v %v", st, err)
}
