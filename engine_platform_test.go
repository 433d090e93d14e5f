package waggle

import (
	"runtime"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/jit"
)

// TestEngineChoiceByMachine checks what each engine gives on this machine:
// EngineAuto compiles where there is a JIT (Linux on amd64 or arm64) and interprets
// elsewhere; EngineJIT elsewhere is refused with the reason.
func TestEngineChoiceByMachine(t *testing.T) {
	insns, err := assembler.Assemble("mov %r0, 42\nexit")
	if err != nil {
		t.Fatal(err)
	}
	spec := &ProgramSpec{Name: "answer", Instructions: insns}
	auto, err := NewProgramWithOptions(spec, ProgramOptions{Engine: EngineAuto})
	if err != nil {
		t.Fatal(err)
	}
	defer auto.Close()
	want := EngineInterpreter
	if jit.Supported {
		want = EngineJIT
	}
	if auto.Engine() != want {
		t.Errorf("EngineAuto on %s/%s runs the program with %v, want %v", runtime.GOOS, runtime.GOARCH, auto.Engine(), want)
	}
	if ret, err := auto.Run(nil); err != nil || ret != 42 {
		t.Errorf("run: %d, %v; want 42", ret, err)
	}

	p, err := NewProgramWithOptions(spec, ProgramOptions{Engine: EngineJIT})
	if jit.Supported {
		if err != nil || p.Engine() != EngineJIT {
			t.Fatalf("EngineJIT on %s/%s: %v", runtime.GOOS, runtime.GOARCH, err)
		}
		p.Close()
		return
	}
	if err == nil {
		p.Close()
		t.Fatalf("EngineJIT on %s/%s, which has no JIT, loaded", runtime.GOOS, runtime.GOARCH)
	}
	if !strings.Contains(err.Error(), jit.Unsupported) || !strings.Contains(err.Error(), "EngineInterpreter") {
		t.Errorf("EngineJIT on %s/%s: %v; want the reason (%s) and the way out", runtime.GOOS, runtime.GOARCH, err, jit.Unsupported)
	}
}
