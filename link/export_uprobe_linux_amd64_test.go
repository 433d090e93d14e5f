package link

import "os"

// SetOutOfLine turns the out-of-line execution of displaced instructions
// on or off (then every probe is an int3, as before it existed), for the
// tests and the benchmark's comparison.
func SetOutOfLine(on bool) { xolOff = !on }

// OutOfLine counts the probe sites whose displaced instructions run out
// of line.
func (l *UprobeLink) OutOfLine() uint64 { return l.t.xolPlaced.Load() }

// SetSeccompCheck turns off (or back on) the check that keeps processes
// with seccomp filters of their own away from the injected mmap, for the
// test of a filter's SIGSYS.
func SetSeccompCheck(on bool) { xolSeccompCheckOff = !on }

// RipOnlyHits counts the hits that read rip alone, their programs
// reading no registers.
func (l *UprobeLink) RipOnlyHits() uint64 { return l.t.ripOnlyHits.Load() }

// NeedsRegs is needsRegs, for its table test.
var NeedsRegs = needsRegs

// OutOfLineRefused says why the processes that the tests start cannot
// have probes out of line on this host ("" if they can): they inherit
// the test process's seccomp filters, which must be countable (the
// Seccomp_filters field of /proc/PID/status, Linux 5.9).
func OutOfLineRefused() string {
	if seccompLikeOurs(os.Getpid()) {
		return ""
	}
	return "this process runs under seccomp filters that /proc/self/status does not count (no Seccomp_filters field before Linux 5.9): probes stay on int3s"
}
