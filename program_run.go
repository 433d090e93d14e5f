package waggle

// Run runs the program, as cilium/ebpf's Program.Run does with
// BPF_PROG_TEST_RUN, and returns its return value: for the kernel's
// program types r0 truncated to 32 bits (the kernel's retval), for
// RawMemory programs the low 32 bits of r0. RunOptions.Result, if set,
// receives the whole result (r0 in 64 bits, the average duration with
// Repeat). An error means the program did not exit normally (a *RunError
// says at which instruction and why) or the options are wrong; the
// return value is then 0.
func (p *Program) Run(opts *RunOptions) (uint32, error) {
	res, err := p.runResult(opts)
	if err != nil {
		return 0, err
	}
	if opts != nil && opts.Result != nil {
		*opts.Result = res
	}
	return uint32(res.ReturnValue), nil
}
