package link

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
