package probe_test

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/link"
	"github.com/waggle-ebpf/waggle/probe"
)

// A service declares a probe point and fires it on its hot path; a
// program attached at run time sums one of its arguments in a map, which
// the service reads from Go. In C the program would be
//
//	SEC("raw_tp/request_done")
//	int sum(struct bpf_raw_tracepoint_args *ctx)
//	{
//		__u32 zero = 0;
//		__u64 *total = bpf_map_lookup_elem(&bytes, &zero);
//		if (total)
//			__sync_fetch_and_add(total, ctx->args[1]);
//		return 0;
//	}
func Example() {
	requestDone := probe.MustNew("request_done",
		probe.Arg{Name: "status", Type: probe.Int32},
		probe.Arg{Name: "bytes", Type: probe.Uint64})

	bytes, err := waggle.NewMap(&ebpf.MapSpec{Name: "bytes", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		panic(err)
	}
	defer bytes.Close()
	insns, err := assembler.Assemble(fmt.Sprintf(`
		ldxdw %%r6, [%%r1+8]  # r6 = ctx->args[1], the bytes
		stw [%%r10-4], 0
		mov %%r2, %%r10
		add %%r2, -4
		lddw %%r1, %#x
		call 1                # bpf_map_lookup_elem(&bytes, &zero)
		jeq %%r0, 0, +1
		lock add [%%r0], %%r6
		mov %%r0, 0
		exit`, bytes.Handle()))
	if err != nil {
		panic(err)
	}
	prog, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "sum", Type: ebpf.RawTracepoint, Instructions: insns})
	if err != nil {
		panic(err)
	}
	defer prog.Close()

	serve := func(n uint64) { requestDone.Fire(uint64(200), n) } // the service's hot path

	serve(1000) // nothing attached: no program runs
	l, err := link.AttachProbe(requestDone, prog, link.ProbeOptions{})
	if err != nil {
		panic(err)
	}
	for n := range uint64(10) {
		serve(100 * n)
	}
	l.Close()
	serve(1000) // detached

	var total uint64
	if err := bytes.Lookup(uint32(0), &total); err != nil {
		panic(err)
	}
	fmt.Println(requestDone)
	fmt.Println("bytes:", total, "runs:", l.Stats().Runs)
	// Output:
	// request_done(status int32, bytes uint64)
	// bytes: 4500 runs: 10
}
