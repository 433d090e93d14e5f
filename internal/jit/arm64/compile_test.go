package arm64

import (
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/conformance"
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
	"github.com/waggle-ebpf/waggle/internal/jit/jittest"
)

// TestCompiledCodeDisassembles compiles every conformance vector, verified
// and checked, with LSE atomics and without, on any host, and has GNU
// objdump for aarch64 read the code: every word must be an instruction it
// knows. TestEncodings checks the encoder's forms one by one; this checks
// that the compiler emits nothing else (the machine runs the same code in
// internal/jit's tests on linux/arm64).
func TestCompiledCodeDisassembles(t *testing.T) {
	objdump := jittest.NeedObjdump(t, "aarch64-linux-gnu-objdump", "aarch64-linux-gnu-objdump (Debian's binutils-aarch64-linux-gnu) is not installed: cannot read the code")
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
	read, bad := 0, 0
	for _, d := range jittest.Objdump(t, objdump, all, "-maarch64") {
		read++
		if strings.HasPrefix(d.Text, ".inst") || strings.Contains(d.Text, "undefined") {
			if bad++; bad <= 10 {
				t.Errorf("objdump cannot read %s", strings.TrimSpace(d.Line))
			}
		}
	}
	if read != len(all)/4 {
		t.Errorf("objdump read %d instructions of %d", read, len(all)/4)
	}
	t.Logf("%d programs, %d instructions", n, read)
}
