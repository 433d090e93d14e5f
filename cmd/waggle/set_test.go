package main

import "testing"

// TestSet: --set writes a const volatile option before the object loads,
// by the variable's BTF type, for waggle run and waggle verify.
func TestSet(t *testing.T) {
	const obj = "../../testdata/core/options.o" // returns ret + mode*100 + tag[0]*1000
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{"defaults", []string{"run", obj}, 0, []string{"Return value: 110100,"}, nil},
		{"int, enum by name, string", []string{"run", "--set", "ret=5", "--set", "mode=MODE_B", "--set", "tag=x", obj}, 0, []string{"Return value: 120205,"}, nil},
		{"negative, hex, enum by value", []string{"run", "--set", "ret=-0x5", "--set", "mode=7", obj}, 0, []string{"Return value: 110695,"}, nil},
		{"verify: the option makes a read of task_struct.mm reachable", []string{"verify", "--set", "read_mm=true", obj}, 1,
			[]string{"rejected", "CO-RE relocation byte_off of struct task_struct.mm", "waggle does not provide field mm"}, nil},
		{"verify: off, it is dead code", []string{"verify", "--set", "read_mm=0", obj}, 0, []string{"accepted"}, nil},
		{"no such variable", []string{"run", "--set", "nope=1", obj}, 2, nil, []string{`no global variable "nope"`, "mode, read_mm, ret, tag"}},
		{"not NAME=VALUE", []string{"run", "--set", "ret", obj}, 2, nil, []string{`"ret" is not NAME=VALUE`}},
		{"out of range", []string{"run", "--set", "ret=99999999999", obj}, 2, nil, []string{"ret is a 32-bit signed integer", "out of range"}},
		{"not a bool", []string{"verify", "--set", "read_mm=maybe", obj}, 2, nil, []string{"read_mm is a bool", `"maybe"`}},
		{"string too long", []string{"run", "--set", "tag=toolongname", obj}, 2, nil, []string{"tag is a char[8]", "needs 12 bytes"}},
		{"not an object", []string{"run", "--set", "ret=1", "testdata/ret7.s"}, 2, nil, []string{"--set writes the global variables of an ELF object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			wantContains(t, "stdout", stdout, tc.wantOut)
			wantContains(t, "stderr", stderr, tc.wantErr)
		})
	}
}
