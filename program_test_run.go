package waggle

import (
	"fmt"
	"math"
	"time"
)

// testRunOutputPad is how much larger than the input Test makes the buffer
// that receives the data out, as cilium/ebpf does (256 bytes of XDP
// headroom that bpf_xdp_adjust_head may take, and 2 more).
const testRunOutputPad = 256 + 2

// Test runs the program once on in, as cilium/ebpf's Program.Test does
// with BPF_PROG_TEST_RUN, and returns its return value (truncated to 32
// bits) and the data as the program left it. The data out is received in
// a buffer len(in) + 258 bytes long, as in cilium/ebpf: a program that
// grows the packet beyond it fails with an error matching unix.ENOSPC. For
// an empty in, the data out is nil.
//
// XDP, tc and socket filter programs need at least 14 bytes (an Ethernet
// header), as in the kernel. On an error the return value is 0.
func (p *Program) Test(in []byte) (uint32, []byte, error) {
	var out []byte
	if len(in) > 0 {
		out = make([]byte, len(in)+testRunOutputPad)
	}
	opts := RunOptions{Data: in, DataOut: out}
	res, err := p.runResult(&opts)
	if err != nil {
		return 0, nil, fmt.Errorf("test program: %w", err)
	}
	return uint32(res.ReturnValue), opts.DataOut, nil
}

// Benchmark runs the program repeat times on in, as cilium/ebpf's
// Program.Benchmark does with BPF_PROG_TEST_RUN's repeat, and returns the
// return value of the last run and the average time of one run. As in the
// kernel, a repeat of 0 runs the program once; a negative repeat or one
// above 2^32−1 is an error. The runs share the data, as the kernel's
// repetitions do.
//
// reset is what cilium/ebpf calls when a signal interrupts the system call
// and the kernel starts measuring again (testing.B.ResetTimer, typically).
// waggle's runs are never interrupted that way, so reset is never called;
// it is accepted for compatibility and may be nil. Bound a long benchmark
// with Run and RunOptions.Timeout or Cancel instead.
func (p *Program) Benchmark(in []byte, repeat int, reset func()) (uint32, time.Duration, error) {
	if repeat < 0 || uint64(repeat) > math.MaxUint32 {
		return 0, 0, fmt.Errorf("benchmark program %s: repeat is %d, want 0 to %d", displayName(p.name), repeat, uint32(math.MaxUint32))
	}
	_ = reset // see the doc comment
	res, err := p.runResult(&RunOptions{Data: in, Repeat: uint32(max(repeat, 1))})
	if err != nil {
		return 0, 0, fmt.Errorf("benchmark program: %w", err)
	}
	return uint32(res.ReturnValue), res.Duration, nil
}
