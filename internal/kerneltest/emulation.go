package kerneltest

import (
	"os"
	"os/exec"
	"testing"
)

// EmulatedEnv is the environment variable that CI sets to the emulator's
// command ("qemu-aarch64-static") when it runs the tests of another
// architecture under user-mode emulation (go test -exec). The host's
// kernel then belongs to another machine, so Available refuses; and the
// host cannot start this machine's executables itself, so Command starts
// them through the emulator.
const EmulatedEnv = "WAGGLE_EMULATED"

// Emulator is the emulator the tests run under (EmulatedEnv), or "".
func Emulator() string { return os.Getenv(EmulatedEnv) }

// Command is exec.Command for an executable built for this machine (a
// test binary re-executing itself, os.Args[0]): under user-mode emulation
// the emulator runs it.
func Command(name string, args ...string) *exec.Cmd {
	if emu := Emulator(); emu != "" {
		return exec.Command(emu, append([]string{name}, args...)...)
	}
	return exec.Command(name, args...)
}

// SkipIfEmulated skips tb, saying why, when the tests run under user-mode
// emulation.
func SkipIfEmulated(tb testing.TB, why string) {
	tb.Helper()
	if emu := Emulator(); emu != "" {
		tb.Skipf("skipped under user-mode emulation (%s=%s): %s", EmulatedEnv, emu, why)
	}
}
