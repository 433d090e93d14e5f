package verifier

import "testing"

// Table tests by category. Each program is also loaded into the running
// kernel when the tests run as root, and the kernel's verdict must match
// (unless kernelDiffers says why not).

// lookup looks up key 0 (on the stack at fp-4) in map 0; r0 is the result.
const lookup = `
	stw [%r10-4], 0
	mov %r2, %r10
	add %r2, -4
	lddw %r1, map_fd 0
	call 1
`

// xdpPkt loads data into r2 and data_end into r3.
const xdpPkt = `
	ldxw %r2, [%r1+0]
	ldxw %r3, [%r1+4]
`

// random puts an unknown number in r0.
const random = "call 7\n"

func TestBounds(t *testing.T) {
	runCases(t, []vcase{
		{name: "index checked", maps: []string{"array:4:64:4"}, asm: random + `
			mov %r6, %r0
			` + lookup + `
			jeq %r0, 0, out
			jgt %r6, 7, out
			lsh %r6, 3
			add %r0, %r6
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`},
		{name: "index off by one", maps: []string{"array:4:64:4"}, asm: random + `
			mov %r6, %r0
			` + lookup + `
			jeq %r0, 0, out
			jgt %r6, 8, out
			lsh %r6, 3
			add %r0, %r6
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`, want: "runs past the 64 bytes", kmsg: "R0 max value is outside of the allowed memory range"},
		{name: "index masked", maps: []string{"array:4:64:4"}, asm: random + `
			mov %r6, %r0
			` + lookup + `
			jeq %r0, 0, out
			and %r6, 0x38
			add %r0, %r6
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`},
		{name: "index unbounded", maps: []string{"array:4:64:4"}, asm: random + `
			mov %r6, %r0
			` + lookup + `
			jeq %r0, 0, out
			add %r0, %r6
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`, want: "no lower bound", kmsg: "unbounded min value is not allowed"},
		{name: "index signed check only", maps: []string{"array:4:64:4"}, asm: random + `
			mov %r6, %r0
			` + lookup + `
			jeq %r0, 0, out
			jsgt %r6, 56, out
			jslt %r6, -1000, out
			add %r0, %r6
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`, want: "may be negative", kmsg: "R0 min value is negative"},
		{name: "index no upper bound", maps: []string{"array:4:64:4"}, asm: random + `
			mov %r6, %r0
			` + lookup + `
			jeq %r0, 0, out
			rsh %r6, 1
			add %r0, %r6
			ldxb %r0, [%r0]
		out:
			mov %r0, 0
			exit`, want: "no upper bound", kmsg: "R0 unbounded memory access"},
		{name: "32-bit load is bounded", maps: []string{"array:4:64:4"}, asm: `
			` + lookup + `
			jeq %r0, 0, out
			ldxb %r6, [%r0]
			and %r6, 0x3f
			mov %r1, %r0
			add %r1, %r6
			ldxb %r0, [%r1]
		out:
			mov %r0, 0
			exit`},
		{name: "jmp32 bound", maps: []string{"array:4:64:4"}, asm: `
			` + lookup + `
			jeq %r0, 0, out
			ldxw %r6, [%r0]
			jgt32 %r6, 63, out
			add %r0, %r6
			ldxb %r0, [%r0]
		out:
			mov %r0, 0
			exit`},
		{name: "bounds of mul", maps: []string{"array:4:64:4"}, asm: `
			` + lookup + `
			jeq %r0, 0, out
			ldxb %r6, [%r0]
			and %r6, 7
			mul %r6, 8
			add %r0, %r6
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`},
		{name: "div gives unknown", maps: []string{"array:4:64:4"}, asm: `
			` + lookup + `
			jeq %r0, 0, out
			ldxb %r6, [%r0]
			and %r6, 7
			div %r6, 2
			add %r0, %r6
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`, want: "no lower bound", kmsg: "unbounded min value"},
		{name: "linked copy bounded", maps: []string{"array:4:64:4"}, asm: random + `
			mov %r6, %r0
			` + lookup + `
			jeq %r0, 0, out
			mov %r7, %r6
			add %r7, 8
			jgt %r6, 48, out
			add %r0, %r7
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`},
		{name: "jset learns bit", asm: random + `
			mov %r1, %r0
			and %r1, 2
			jset %r1, 2, +2
			mov %r0, 0
			exit
			mov %r0, 1
			exit`},
		{name: "branch on constant", asm: `
			mov %r1, 5
			jgt %r1, 4, +2
			ldxw %r0, [%r9]
			exit
			mov %r0, 0
			exit`},
	})
}

func TestPacket(t *testing.T) {
	runCases(t, []vcase{
		{name: "read unchecked", asm: xdpPkt + `
			ldxb %r0, [%r2]
			exit`, want: "no comparison with data_end", kmsg: "invalid access to packet"},
		{name: "read checked", asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 14
			jgt %r4, %r3, out
			ldxh %r0, [%r2+12]
			exit
		out:
			mov %r0, 1
			exit`},
		{name: "read past check", asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 14
			jgt %r4, %r3, out
			ldxb %r0, [%r2+14]
			exit
		out:
			mov %r0, 1
			exit`, want: "only prove that 14 bytes", kmsg: "invalid access to packet, off=14 size=1"},
		{name: "check reversed", asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 8
			jlt %r3, %r4, out
			ldxdw %r0, [%r2]
			exit
		out:
			mov %r0, 1
			exit`},
		{name: "check strict", asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 8
			jge %r4, %r3, out
			ldxdw %r0, [%r2+1]
			exit
		out:
			mov %r0, 1
			exit`},
		{name: "check on the taken branch", asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 8
			jle %r4, %r3, ok
			mov %r0, 1
			exit
		ok:
			ldxdw %r0, [%r2]
			exit`},
		{name: "write packet", asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 2
			jgt %r4, %r3, out
			sth [%r2], 0
		out:
			mov %r0, 2
			exit`},
		{name: "variable offset", asm: xdpPkt + `
			ldxw %r5, [%r1+12]
			and %r5, 0xff
			add %r2, %r5
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			ldxw %r0, [%r2]
			exit
		out:
			mov %r0, 1
			exit`},
		{name: "variable offset after check", asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			ldxw %r5, [%r1+12]
			and %r5, 3
			add %r2, %r5
			ldxb %r0, [%r2]
			exit
		out:
			mov %r0, 1
			exit`, want: "no comparison with data_end", kmsg: "invalid access to packet"},
		{name: "negative offset", asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			ldxb %r0, [%r2-1]
			exit
		out:
			mov %r0, 1
			exit`, want: "offset -1", kmsg: "invalid access to packet"},
		{name: "pkt_end deref", asm: xdpPkt + `
			ldxb %r0, [%r3]
			exit`, want: "cannot be read", kmsg: "R3 invalid mem access 'pkt_end'"},
		{name: "adjust_head invalidates", asm: `
			mov %r6, %r1
			` + xdpPkt + `
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			mov %r7, %r2
			mov %r1, %r6
			mov %r2, 4
			call 44
			ldxb %r0, [%r7]
			exit
		out:
			mov %r0, 1
			exit`, want: "not a pointer", kmsg: "R7 invalid mem access 'scalar'"},
		{name: "tc reads packet", typ: "tc", asm: `
			ldxw %r2, [%r1+76]
			ldxw %r3, [%r1+80]
			mov %r4, %r2
			add %r4, 14
			jgt %r4, %r3, out
			ldxb %r0, [%r2+13]
			exit
		out:
			mov %r0, 0
			exit`},
		{name: "socket filter no packet pointer", typ: "socket", asm: `
			ldxw %r2, [%r1+76]
			mov %r0, 0
			exit`, want: "no field", kmsg: "invalid bpf_context access off=76 size=4"},
		{name: "metadata", asm: `
			ldxw %r2, [%r1+8]
			ldxw %r3, [%r1+0]
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			ldxw %r0, [%r2]
			exit
		out:
			mov %r0, 1
			exit`},
		{name: "pkt pointer compare beyond end", asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			mov %r0, 0
			exit
		out:
			jle %r4, %r3, +1
			mov %r0, 1
			exit`},
		{name: "raw memory length check", typ: "raw", asm: `
			mov %r0, 0
			jlt %r2, 8, out
			ldxdw %r0, [%r1]
		out:
			exit`, kernelDiffers: "raw memory is waggle's own program type"},
		{name: "raw memory unchecked", typ: "raw", asm: `
			ldxb %r0, [%r1]
			exit`, want: "the length in r2", kernelDiffers: "raw memory is waggle's own program type"},
		{name: "raw memory end pointer", typ: "raw", asm: `
			mov %r3, %r1
			add %r3, %r2
			mov %r4, %r1
			add %r4, 2
			mov %r0, 0
			jgt %r4, %r3, out
			ldxh %r0, [%r1]
		out:
			exit`, kernelDiffers: "raw memory is waggle's own program type"},
	})
}

func TestMapValues(t *testing.T) {
	runCases(t, []vcase{
		{name: "null not checked", maps: []string{"hash:4:8:4"}, asm: lookup + `
			ldxdw %r0, [%r0]
			exit`, want: "r0 may be NULL here: bpf_map_lookup_elem at instruction 4 can return NULL", kmsg: "R0 invalid mem access 'map_value_or_null'"},
		{name: "null checked", maps: []string{"hash:4:8:4"}, asm: lookup + `
			jne %r0, 0, +2
			mov %r0, 0
			exit
			ldxdw %r0, [%r0]
			exit`},
		{name: "copy checked", maps: []string{"hash:4:8:4"}, asm: lookup + `
			mov %r6, %r0
			jeq %r0, 0, out
			ldxdw %r0, [%r6]
			exit
		out:
			mov %r0, 0
			exit`},
		{name: "spilled copy checked", maps: []string{"hash:4:8:4"}, asm: lookup + `
			stxdw [%r10-16], %r0
			jeq %r0, 0, out
			ldxdw %r1, [%r10-16]
			ldxdw %r0, [%r1]
			exit
		out:
			mov %r0, 0
			exit`},
		{name: "checked on other path only", maps: []string{"hash:4:8:4"}, asm: lookup + `
			mov %r6, %r0
			call 7
			jeq %r0, 0, skip
			jeq %r6, 0, out
		skip:
			ldxdw %r0, [%r6]
			exit
		out:
			mov %r0, 0
			exit`, want: "r6 may be NULL", kmsg: "R6 invalid mem access 'map_value_or_null'"},
		{name: "array const key not null", maps: []string{"array:4:8:4"}, asm: lookup + `
			ldxdw %r0, [%r0]
			exit`},
		{name: "array key out of range", maps: []string{"array:4:8:4"}, asm: `
			stw [%r10-4], 4
			mov %r2, %r10
			add %r2, -4
			lddw %r1, map_fd 0
			call 1
			ldxdw %r0, [%r0]
			exit`, want: "may be NULL", kmsg: "map_value_or_null"},
		{name: "array spilled const key", maps: []string{"array:4:8:4"}, asm: `
			mov %r6, 2
			stxw [%r10-8], %r6
			mov %r2, %r10
			add %r2, -8
			lddw %r1, map_fd 0
			call 1
			ldxdw %r0, [%r0]
			exit`},
		{name: "past value end", maps: []string{"hash:4:8:4"}, asm: lookup + `
			jeq %r0, 0, out
			ldxdw %r0, [%r0+4]
			exit
		out:
			mov %r0, 0
			exit`, want: "outside the 8 bytes", kmsg: "invalid access to map value, value_size=8 off=4 size=8"},
		{name: "write read-only map", maps: []string{"array:4:8:1:128"}, asm: lookup + `
			stdw [%r0], 1
			mov %r0, 0
			exit`, want: "read-only", kmsg: "write into map forbidden"},
		{name: "read-only map constant", maps: []string{"array:4:8:1:128"}, setup: func(p *Program) {
			p.Maps[0].Value = []byte{3, 0, 0, 0, 0, 0, 0, 0}
		}, asm: `
			lddw %r1, map_value 0, 0
			ldxdw %r1, [%r1]
			jeq %r1, 3, +1
			ldxw %r0, [%r9]
			mov %r0, 0
			exit`},
		{name: "direct value", maps: []string{"array:4:16:1"}, asm: `
			lddw %r1, map_value 0, 8
			ldxdw %r0, [%r1]
			exit`},
		{name: "direct value past end", maps: []string{"array:4:16:1"}, asm: `
			lddw %r1, map_value 0, 12
			ldxdw %r0, [%r1]
			exit`, want: "outside the 16 bytes", kmsg: "invalid access to map value"},
		{name: "map pointer deref", maps: []string{"hash:4:8:4"}, asm: `
			lddw %r1, map_fd 0
			ldxdw %r0, [%r1]
			exit`, want: "cannot be read", kmsg: "R1 invalid mem access 'map_ptr'",
			kernelDiffers: "the kernel lets programs read struct bpf_map through a map pointer (BTF); waggle's map handles are not addresses"},
		{name: "arithmetic on maybe null", maps: []string{"hash:4:8:4"}, asm: lookup + `
			add %r0, 4
			mov %r0, 0
			exit`, want: "may be NULL", kmsg: "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first"},
		{name: "map in map", maps: []string{"array_of_maps:4:4:4"}, asm: lookup + `
			jeq %r0, 0, out
			stw [%r10-8], 0
			mov %r2, %r10
			add %r2, -8
			mov %r1, %r0
			call 1
			jeq %r0, 0, out
			ldxdw %r0, [%r0]
			exit
		out:
			mov %r0, 0
			exit`},
		{name: "atomic add", maps: []string{"hash:4:8:4"}, asm: lookup + `
			jeq %r0, 0, out
			mov %r1, 1
			lock add [%r0], %r1
		out:
			mov %r0, 0
			exit`},
	})
}

func TestStack(t *testing.T) {
	runCases(t, []vcase{
		{name: "uninit read root", asm: `
			ldxdw %r0, [%r10-8]
			exit`},
		{name: "uninit read strict", strict: true, typ: "socket", asm: `
			ldxdw %r0, [%r10-8]
			exit`, want: "nothing on this path wrote", kmsg: "invalid read from stack off -8+0 size 8"},
		{name: "write fp+0", asm: `
			stdw [%r10], 0
			mov %r0, 0
			exit`, want: "outside the stack frame", kmsg: "invalid write to stack R10 off=0 size=8"},
		{name: "write fp-520", asm: `
			stdw [%r10-520], 0
			mov %r0, 0
			exit`, want: "outside the stack frame", kmsg: "invalid write to stack R10 off=-520 size=8"},
		{name: "misaligned", asm: `
			stw [%r10-6], 0
			mov %r0, 0
			exit`, want: "not aligned", kmsg: "misaligned stack access off 0+0+-6 size 4"},
		{name: "spill and fill pointer", maps: []string{"hash:4:8:4"}, asm: `
			stxdw [%r10-8], %r1
			ldxdw %r1, [%r10-8]
			ldxw %r0, [%r1]
			exit`},
		{name: "partial fill of pointer", asm: `
			stxdw [%r10-8], %r1
			ldxw %r1, [%r10-8]
			mov %r0, 0
			exit`, want: "part of a spilled pointer", kmsg: "invalid size of register fill"},
		{name: "partial spill of pointer", asm: `
			stxw [%r10-8], %r1
			mov %r0, 0
			exit`, want: "stored whole", kmsg: "invalid size of register spill"},
		{name: "spilled scalar keeps bounds", maps: []string{"array:4:64:4"}, asm: random + `
			and %r0, 0x38
			stxdw [%r10-16], %r0
			` + lookup + `
			jeq %r0, 0, out
			ldxdw %r1, [%r10-16]
			add %r0, %r1
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`},
		{name: "narrow spill keeps bounds", maps: []string{"array:4:64:4"}, asm: random + `
			and %r0, 0x38
			stxw [%r10-16], %r0
			` + lookup + `
			jeq %r0, 0, out
			ldxw %r1, [%r10-16]
			add %r0, %r1
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`},
		{name: "overwritten spill is unknown", maps: []string{"array:4:64:4"}, asm: random + `
			and %r0, 0x38
			stxdw [%r10-16], %r0
			stb [%r10-13], 7
			` + lookup + `
			jeq %r0, 0, out
			ldxdw %r1, [%r10-16]
			add %r0, %r1
			ldxdw %r0, [%r0]
		out:
			mov %r0, 0
			exit`, want: "no lower bound", kmsg: "unbounded min value"},
		{name: "variable offset stack", asm: random + `
			and %r0, 8
			mov %r1, %r10
			add %r1, -16
			add %r1, %r0
			stdw [%r1], 1
			ldxdw %r0, [%r1]
			exit`},
		{name: "variable offset stack out", asm: random + `
			and %r0, 16
			mov %r1, %r10
			add %r1, -16
			add %r1, %r0
			stdw [%r1], 1
			mov %r0, 0
			exit`, want: "leaves the stack frame", kmsg: "invalid variable-offset write to stack R1"},
		{name: "write r10", asm: `
			mov %r10, 0
			mov %r0, 0
			exit`, want: "frame pointer", kmsg: "frame pointer is read only"},
	})
}

func TestLoops(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	runCases(t, []vcase{
		{name: "bounded loop", asm: `
			mov %r0, 0
			mov %r1, 0
		loop:
			add %r0, %r1
			add %r1, 1
			jlt %r1, 10, loop
			exit`},
		{name: "infinite loop", asm: `
			mov %r0, 0
		loop:
			jeq %r0, 1, out
			ja loop
		out:
			exit`, want: "loop", kmsg: "infinite loop detected"},
		{name: "loop with unknown bound", asm: random + `
			mov %r1, 0
		loop:
			add %r1, 1
			jne %r1, %r0, loop
			mov %r0, 0
			exit`, want: "gave up", kmsg: "BPF program is too large"},
		{name: "strict refuses loops", typ: "socket", strict: true, asm: `
			mov %r0, 0
			mov %r1, 0
		loop:
			add %r1, 1
			jlt %r1, 10, loop
			exit`, want: "loop", kmsg: "back-edge"},
		{name: "bpf_loop", asm: `
			mov %r1, 10
			lddw %r2, func cb
			mov %r3, 0
			mov %r4, 0
			call 181
			mov %r0, 0
			exit
		cb:
			mov %r0, 0
			exit`},
		{name: "bpf_loop counts in ctx", asm: `
			stdw [%r10-8], 0
			mov %r1, 100
			lddw %r2, func cb
			mov %r3, %r10
			add %r3, -8
			mov %r4, 0
			call 181
			ldxdw %r0, [%r10-8]
			exit
		cb:
			ldxdw %r3, [%r2]
			add %r3, 1
			stxdw [%r2], %r3
			mov %r0, 0
			exit`},
		{name: "bpf_loop bad return", asm: `
			mov %r1, 10
			lddw %r2, func cb
			mov %r3, 0
			mov %r4, 0
			call 181
			mov %r0, 0
			exit
		cb:
			mov %r0, 2
			exit`, want: "return 0 (go on) or 1 (stop)", kmsg: "At callback return the register R0 has"},
		{name: "for_each_map_elem", maps: []string{"hash:4:8:16"}, asm: `
			lddw %r1, map_fd 0
			lddw %r2, func cb
			mov %r3, 0
			mov %r4, 0
			call 164
			mov %r0, 0
			exit
		cb:
			ldxdw %r0, [%r3]
			ldxw %r0, [%r2]
			mov %r0, 0
			exit`},
		{name: "for_each value bounds", maps: []string{"hash:4:8:16"}, asm: `
			lddw %r1, map_fd 0
			lddw %r2, func cb
			mov %r3, 0
			mov %r4, 0
			call 164
			mov %r0, 0
			exit
		cb:
			ldxdw %r0, [%r3+8]
			mov %r0, 0
			exit`, want: "outside the 8 bytes", kmsg: "invalid access to map value"},
	})
}

func TestCalls(t *testing.T) {
	runCases(t, []vcase{
		{name: "call keeps r6", asm: `
			mov %r6, 5
			mov %r1, 1
			call local f
			add %r0, %r6
			exit
		f:
			mov %r0, %r1
			exit`},
		{name: "call clobbers r1", asm: `
			mov %r1, 1
			call local f
			mov %r0, %r1
			exit
		f:
			mov %r0, 0
			exit`, want: "r1 is read before", kmsg: "R1 !read_ok"},
		{name: "callee stack pointer arg", asm: `
			stdw [%r10-8], 0
			mov %r1, %r10
			add %r1, -8
			call local f
			ldxdw %r0, [%r10-8]
			exit
		f:
			stdw [%r1], 7
			mov %r0, 0
			exit`},
		{name: "return stack pointer", asm: `
			call local f
			mov %r0, 0
			exit
		f:
			mov %r0, %r10
			add %r0, -8
			exit`, want: "pointer to the stack", kmsg: "cannot return stack pointer to the caller"},
		{name: "too deep", asm: `
			call local f1
			exit
		f1:
			call local f2
			exit
		f2:
			call local f3
			exit
		f3:
			call local f4
			exit
		f4:
			call local f5
			exit
		f5:
			call local f6
			exit
		f6:
			call local f7
			exit
		f7:
			call local f8
			exit
		f8:
			mov %r0, 0
			exit`, want: "nests 9 functions", kmsg: "the call stack of 9 frames is too deep"},
		{name: "combined stack too large", asm: `
			stdw [%r10-320], 0
			call local f
			mov %r0, 0
			exit
		f:
			stdw [%r10-320], 0
			mov %r0, 0
			exit`, want: "more than the 512 bytes", kmsg: "combined stack size of 2 calls is"},
		{name: "recursion", asm: `
			call local f
			exit
		f:
			call local f
			exit`, want: "nests 9 functions", kmsg: "the call stack of 9 frames is too deep"},
		{name: "uncalled function", asm: `
			mov %r0, 0
			exit
		f:
			mov %r0, 1
			exit`, want: "can never run", kmsg: "unreachable insn 2"},
		{name: "void function", asm: `
			mov %r6, 3
			call local f
			mov %r0, %r6
			exit
		f:
			exit`},
	})
}
