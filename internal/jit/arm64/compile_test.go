package arm64

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/conformance"
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
)

// TestCompiledCodeDisassembles compiles every conformance vector, verified
// and checked, with LSE atomics and without, on any host, and has GNU
// objdump for aarch64 read the code: every word must be an instruction it
// knows. TestEncodings checks the encoder's forms one by one; this checks
// that the compiler emits nothing else (the machine runs the same code in
// internal/jit's tests on linux/arm64).
func TestCompiledCodeDisassembles(t *testing.T) {
	objdump, err := exec.LookPath("aarch64-linux-gnu-objdump")
	if err != nil {
		t.Skip("aarch64-linux-gnu-objdump (Debian's binutils-aarch64-linux-gnu) is not installed: cannot read the code")
	}
	saved := LSE
	defer func() { LSE = saved }()
	var all []byte
	n := 0
	for _, lse := range []bool{false, true} {
		LSE = lse
		for _, checked := range []bool{false, true} {
			for _, tc := range conformance.Vectors(t) {
				out, err := Compile(abi.Input{
					Instructions: tc.Program,
					ID:           1,
					Helper:       func(int32) error { return nil },
					Checked:      checked,
				})
				if err != nil {
					if tc.Error != "" {
						continue // an invalid program the compiler refuses
					}
					t.Fatalf("%s: %v", tc.Name, err)
				}
				if len(out.Code)%4 != 0 {
					t.Fatalf("%s: %d bytes of code, not whole instructions", tc.Name, len(out.Code))
				}
				all = append(all, out.Code...)
				n++
			}
		}
	}
	bin := filepath.Join(t.TempDir(), "code.bin")
	if err := os.WriteFile(bin, all, 0o644); err != nil {
		t.Fatal(err)
	}
	dis, err := exec.Command(objdump, "-D", "-b", "binary", "-maarch64", bin).Output()
	if err != nil {
		t.Fatalf("objdump: %v", err)
	}
	read, bad := 0, 0
	for _, line := range strings.Split(string(dis), "\n") {
		fields := strings.SplitN(line, "\t", 3)
		if len(fields) != 3 || !strings.HasSuffix(fields[0], ":") {
			continue
		}
		read++
		if strings.HasPrefix(fields[2], ".inst") || strings.Contains(fields[2], "undefined") {
			if bad++; bad <= 10 {
				t.Errorf("objdump cannot read %s", strings.TrimSpace(line))
			}
		}
	}
	if read != len(all)/4 {
		t.Errorf("objdump read %d instructions of %d", read, len(all)/4)
	}
	t.Logf("%d programs, %d instructions", n, read)
}
