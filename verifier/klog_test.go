package verifier

import (
	"os"
	"testing"

	"github.com/cilium/ebpf"
)

// TestKernelObjectLog writes the kernel's log level 2 for $WAGGLE_OBJ's
// program $WAGGLE_PROG to /tmp/kernel.log (a tool for development).
func TestKernelObjectLog(t *testing.T) {
	obj, prog := os.Getenv("WAGGLE_OBJ"), os.Getenv("WAGGLE_PROG")
	if obj == "" || kernelAvailable() != nil {
		t.Skip()
	}
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	for n := range spec.Programs {
		if n != prog {
			delete(spec.Programs, n)
		}
	}
	for _, m := range spec.Maps {
		if m.Type == ebpf.ProgramArray {
			m.Contents = nil
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelInstruction, LogSizeStart: 1 << 24}})
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	os.WriteFile("/tmp/kernel.log", []byte(coll.Programs[prog].VerifierLog), 0o644)
}
