package main

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/conformance"
	"github.com/waggle-ebpf/waggle/internal/jit"
)

// TestConformance runs every bpf_conformance test file through the plugin's
// protocol: the program as hex on standard input, the memory as hex in the
// first argument, r0 in hex on standard output.
func TestConformance(t *testing.T) {
	tests := conformance.Vectors(t)
	if len(tests) < 313 {
		t.Fatalf("found %d conformance tests, want all 313", len(tests))
	}
	for _, engine := range []string{"interpreter", "jit"} {
		if engine == "jit" && !jit.Supported {
			t.Run(engine, func(t *testing.T) { t.Skip(jit.Unsupported) })
			continue
		}
		for _, tc := range tests {
			t.Run(engine+"/"+tc.Name, func(t *testing.T) {
				args := []string{"--engine", engine}
				if len(tc.Mem) > 0 {
					args = append(args, spacedHex(tc.Mem))
				}
				var out bytes.Buffer
				code, err := run(args, strings.NewReader(spacedHex(tc.Program.Encode())), &out)
				if tc.Error != "" {
					if code == 0 {
						t.Fatalf("ran with r0 = %s, want error %q", out.String(), tc.Error)
					}
					return
				}
				if code != 0 || err != nil {
					t.Fatalf("exit %d: %v", code, err)
				}
				got, perr := strconv.ParseUint(strings.TrimSpace(out.String()), 16, 64)
				if perr != nil {
					t.Fatalf("output %q is not hex: %v", out.String(), perr)
				}
				if got != tc.Result {
					t.Fatalf("r0 = %#x, want %#x", got, tc.Result)
				}
			})
		}
	}
}

// spacedHex formats bytes as the conformance runner does: hex pairs
// separated by two spaces.
func spacedHex(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		s.WriteString(hex.EncodeToString([]byte{c}))
		s.WriteString("  ")
	}
	return s.String()
}

func TestProtocol(t *testing.T) {
	ret5 := "b7 00 00 00 05 00 00 00 95 00 00 00 00 00 00 00"
	readMem := "61 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00" // r0 = *(u32 *)(r1 + 0)
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"no memory", nil, ret5, 0, "5\n", ""},
		{"memory argument", []string{"01 02 03 04"}, readMem, 0, "4030201\n", ""},
		{"engine option after memory", []string{"01020304", "--engine", "interpreter"}, readMem, 0, "4030201\n", ""},
		{"engine option with =", []string{"--engine=interpreter"}, ret5, 0, "5\n", ""},
		{"jit engine", []string{"--engine", "jit", "01020304"}, readMem, 0, "4030201\n", ""},
		{"unknown engine", []string{"--engine", "ubpf"}, ret5, 2, "", "unknown engine"},
		{"unknown option", []string{"--fast"}, ret5, 2, "", "unknown option"},
		{"two memory arguments", []string{"00", "11"}, ret5, 2, "", "only one memory argument"},
		{"bad program hex", nil, "b7 0", 1, "", "odd number"},
		{"not hex", nil, "zz", 1, "", "not a hexadecimal digit"},
		{"bad memory hex", []string{"0g"}, ret5, 1, "", "memory argument"},
		{"truncated instruction", nil, "b7 00 00 00", 1, "", "not a multiple of 8"},
		{"read outside memory", []string{"01 02"}, readMem, 1, "", "read of 4 bytes"},
		{"invalid opcode", nil, "ff 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00", 1, "", "instruction 0"},
		{"elf", []string{"--elf"}, ret5, 2, "", "ELF input is not supported"},
		{"help", []string{"--help"}, "", 0, "usage:", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "jit engine" && !jit.Supported {
				// Where there is no JIT, asking for it is refused, saying why.
				tc.wantCode, tc.wantOut, tc.wantErr = 1, "", jit.Unsupported
			}
			var out bytes.Buffer
			code, err := run(tc.args, strings.NewReader(tc.stdin), &out)
			if code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d", code, err, tc.wantCode)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
			if !strings.HasPrefix(out.String(), tc.wantOut) {
				t.Fatalf("output %q, want %q", out.String(), tc.wantOut)
			}
		})
	}
}
