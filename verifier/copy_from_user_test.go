package verifier

import "testing"

// TestCopyFromUser: bpf_copy_from_user (148) takes uninitialised memory of
// a bounded size (0 allowed) and any source, in sleepable programs only
// (syscall programs, of waggle's types). As root, runCases also checks
// each verdict against the kernel's.
func TestCopyFromUser(t *testing.T) {
	const call = `
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			mov %r3, 0
			call 148
`
	var cases []vcase
	cases = append(cases, vcase{name: "syscall", typ: "syscall", asm: call + `
			ldxdw %r0, [%r10-8]
			exit`})
	for _, typ := range []string{"xdp", "tc", "socket", "kprobe", "tp", "raw_tp", "perf", "raw"} {
		c := vcase{name: "not sleepable " + typ, typ: typ, asm: call + `
			mov %r0, 0
			exit`, want: "not sleepable", kmsg: "helper call might sleep in a non-sleepable prog"}
		if typ == "raw" {
			c.kernelDiffers = "the kernel has no raw memory programs: kernelVerify loads them as sleepable syscall programs"
		}
		cases = append(cases, c)
	}
	cases = append(cases,
		vcase{name: "strict writes the stack", typ: "syscall", strict: true, asm: call + `
			mov %r0, 0
			exit`, want: "CAP_BPF"},
		vcase{name: "bounded size", typ: "syscall", asm: `
			ldxw %r2, [%r1+0]
			and %r2, 15
			mov %r1, %r10
			add %r1, -16
			mov %r3, 0
			call 148
			mov %r0, 0
			exit`},
		// NULL is refused even with a size of 0, as by the kernel.
		vcase{name: "size zero into null", typ: "syscall", asm: `
			mov %r1, 0
			mov %r2, 0
			mov %r3, 0
			call 148
			mov %r0, 0
			exit`, want: "NULL", kmsg: "R1 type=scalar expected=fp"},
		vcase{name: "unbounded size", typ: "syscall", asm: `
			ldxw %r2, [%r1+0]
			mov %r1, %r10
			add %r1, -16
			mov %r3, 0
			call 148
			mov %r0, 0
			exit`, want: "R2", kmsg: "R2 unbounded memory access"},
		vcase{name: "past the stack", typ: "syscall", asm: `
			mov %r1, %r10
			add %r1, -8
			mov %r2, 16
			mov %r3, 0
			call 148
			mov %r0, 0
			exit`, want: "stack"},
		vcase{name: "into the context", typ: "syscall", asm: `
			mov %r2, 8
			mov %r3, 0
			call 148
			mov %r0, 0
			exit`, want: "must point to memory", kmsg: "R1 type=ctx expected="},
		vcase{name: "source uninitialised", typ: "syscall", asm: `
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			call 148
			mov %r0, 0
			exit`, want: "R3", kmsg: "R3 !read_ok"},
		vcase{name: "result is a number", typ: "syscall", asm: call + `
			jsge %r0, 0, out
			mov %r0, 1
			exit
		out:
			mov %r0, 0
			exit`},
	)
	runCases(t, cases)
}

// TestNullMemorySizeZero: a memory argument that may not be NULL is
// refused as NULL even with a size of 0 (the kernel's check_reg_type comes
// before the size); those that may be NULL take it.
func TestNullMemorySizeZero(t *testing.T) {
	runCases(t, []vcase{
		{name: "probe_read", typ: "raw_tp", asm: `
			mov %r1, 0
			mov %r2, 0
			mov %r3, 0
			call 4
			mov %r0, 0
			exit`, want: "NULL", kmsg: "R1 type=scalar expected=fp"},
		{name: "ringbuf_output", typ: "raw_tp", maps: []string{"ringbuf:0:0:4096"}, asm: `
			lddw %r1, map_fd 0
			mov %r2, 0
			mov %r3, 0
			mov %r4, 0
			call 130
			mov %r0, 0
			exit`, want: "NULL", kmsg: "R2 type=scalar expected=fp"},
		{name: "csum_diff may be null", typ: "tc", asm: `
			mov %r1, 0
			mov %r2, 0
			mov %r3, 0
			mov %r4, 0
			mov %r5, 0
			call 28
			mov %r0, 0
			exit`},
	})
}
