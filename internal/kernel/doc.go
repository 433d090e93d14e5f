// Package kernel implements the Linux kernel's side of running a program:
// the helper functions each program type may call, and the program contexts
// (struct xdp_md, struct __sk_buff, raw tracepoint arguments, ...) with the
// packet and memory that BPF_PROG_TEST_RUN sets up around them.
//
// The semantics follow Linux 6.18 (net/bpf/test_run.c, net/core/filter.c,
// kernel/bpf/helpers.c, kernel/trace/bpf_trace.c) and were checked against
// the kernel's own BPF_PROG_TEST_RUN: buffer sizes, headroom and tailroom,
// the bounds of bpf_xdp_adjust_head/tail/meta, which __sk_buff fields each
// program type may read and write, what ctx_in may set, what data_out and
// ctx_out hold. docs/HELPERS.md lists every helper and where waggle differs
// from the kernel.
//
// A program type's helpers come from HelpersFor; a run of a program goes
// through a Run:
//
//	run, _ := kernel.NewRun(ebpf.XDP, opts)       // once, reused run after run
//	m.Memory.Reset()                               // plus the maps' regions
//	args, err := run.Setup(&m.Memory, kernel.Input{Data: pkt})
//	m.Packet = run.Packet()                        // for LD_ABS / LD_IND
//	ret, err := prog.Run(m, engine.RunArgs{R1: args[0], R2: args[1], State: run})
//	var out kernel.Output
//	run.Finish(&out)
//
// A Run is used by one goroutine at a time.
package kernel
