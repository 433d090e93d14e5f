package verifier

import (
	"testing"

	"github.com/waggle-ebpf/waggle/helper"
)

func TestHelpers(t *testing.T) {
	runCases(t, []vcase{
		{name: "map argument not a map", asm: `
			mov %r1, 0
			mov %r2, %r10
			add %r2, -4
			stw [%r10-4], 0
			call 1
			mov %r0, 0
			exit`, want: "must be a map", kmsg: "R1 type=scalar expected=map_ptr"},
		{name: "key uninitialised root", maps: []string{"hash:4:8:4"}, asm: `
			mov %r2, %r10
			add %r2, -4
			lddw %r1, map_fd 0
			call 1
			mov %r0, 0
			exit`},
		{name: "key uninitialised strict", typ: "socket", strict: true, maps: []string{"hash:4:8:4"}, asm: `
			mov %r2, %r10
			add %r2, -4
			lddw %r1, map_fd 0
			call 1
			mov %r0, 0
			exit`, want: "never written", kmsg: "invalid indirect read from stack R2 off -4+0 size 4"},
		{name: "key outside stack", maps: []string{"hash:4:8:4"}, asm: `
			mov %r2, %r10
			add %r2, -2
			lddw %r1, map_fd 0
			call 1
			mov %r0, 0
			exit`, want: "outside the stack frame", kmsg: "invalid read from stack R2 off=-2 size=4"},
		{name: "key null", maps: []string{"hash:4:8:4"}, asm: `
			mov %r2, 0
			lddw %r1, map_fd 0
			call 1
			mov %r0, 0
			exit`, want: "must point to the map's key", kmsg: "R2 type=scalar expected=fp"},
		{name: "key in packet", maps: []string{"hash:4:8:4"}, asm: xdpPkt + `
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			lddw %r1, map_fd 0
			call 1
		out:
			mov %r0, 0
			exit`},
		{name: "update value from map", maps: []string{"hash:4:8:4"}, asm: lookup + `
			jeq %r0, 0, out
			mov %r3, %r0
			mov %r2, %r10
			add %r2, -4
			lddw %r1, map_fd 0
			mov %r4, 0
			call 2
		out:
			mov %r0, 0
			exit`},
		{name: "helper not allowed", asm: `
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			mov %r3, 0
			call 4
			mov %r0, 0
			exit`, want: "may not call bpf_probe_read", kmsg: "program of this type cannot use helper bpf_probe_read#4"},
		{name: "unknown helper", asm: `
			call 100000
			mov %r0, 0
			exit`, want: "neither a kernel helper", kmsg: "invalid func unknown#100000"},
		{name: "printk", asm: `
			stdw [%r10-8], 0x0a6968
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			call 6
			mov %r0, 0
			exit`},
		{name: "size zero", asm: `
			mov %r1, %r10
			add %r1, -8
			mov %r2, 0
			call 6
			mov %r0, 0
			exit`, want: "may be 0", kmsg: "R2 invalid zero-sized read"},
		{name: "size unbounded", asm: random + `
			mov %r2, %r0
			mov %r1, %r10
			add %r1, -8
			call 6
			mov %r0, 0
			exit`, want: "may be negative", kmsg: "R2 min value is negative, either use unsigned or 'var &= const'"},
		{name: "size too large for buffer", asm: random + `
			mov %r2, %r0
			and %r2, 15
			add %r2, 1
			mov %r1, %r10
			add %r1, -8
			stdw [%r10-8], 0
			call 6
			mov %r0, 0
			exit`, want: "outside the stack frame", kmsg: "invalid read from stack R1 off=-8 size=16"},
		{name: "bounded size", asm: random + `
			mov %r2, %r0
			and %r2, 7
			add %r2, 1
			mov %r1, %r10
			add %r1, -8
			stdw [%r10-8], 0
			call 6
			mov %r0, 0
			exit`},
		{name: "get_current_comm writes stack", asm: `
			mov %r1, %r10
			add %r1, -16
			mov %r2, 16
			call 16
			ldxdw %r0, [%r10-16]
			exit`},
		{name: "tail call", maps: []string{"prog_array:4:4:4"}, asm: `
			lddw %r2, map_fd 0
			mov %r3, 1
			call 12
			mov %r0, 2
			exit`},
		{name: "tail call wrong map", maps: []string{"hash:4:8:4"}, asm: `
			lddw %r2, map_fd 0
			mov %r3, 1
			call 12
			mov %r0, 2
			exit`, want: "needs a map of type", kmsg: "expected prog array map for tail call"},
		{name: "lookup on ringbuf", maps: []string{"ringbuf:0:0:4096"}, asm: lookup + `
			mov %r0, 0
			exit`, want: "0 bytes", kmsg: "invalid zero-sized read"},
		{name: "ctx argument modified", maps: []string{"prog_array:4:4:4"}, asm: `
			add %r1, 4
			lddw %r2, map_fd 0
			mov %r3, 1
			call 12
			mov %r0, 2
			exit`, want: "context pointer itself", kmsg: "dereference of modified ctx ptr R1 off=4 disallowed"},
		{name: "perf output from map value", maps: []string{"perf:4:4:4", "hash:4:16:4"}, asm: `
			mov %r6, %r1
			stw [%r10-4], 0
			mov %r2, %r10
			add %r2, -4
			lddw %r1, map_fd 1
			call 1
			jeq %r0, 0, out
			mov %r4, %r0
			mov %r1, %r6
			lddw %r2, map_fd 0
			lddw %r3, 0xffffffff
			mov %r5, 16
			call 25
		out:
			mov %r0, 0
			exit`},
		{name: "clobbers r1-r5", asm: `
			call 7
			mov %r0, %r2
			exit`, want: "r2 is read before", kmsg: "R2 !read_ok"},
		{name: "csum_diff null", asm: `
			mov %r1, 0
			mov %r2, 0
			mov %r3, %r10
			add %r3, -8
			stdw [%r10-8], 0
			mov %r4, 8
			mov %r5, 0
			call 28
			mov %r0, 0
			exit`},
		{name: "queue push pop", maps: []string{"queue:0:8:4"}, asm: `
			stdw [%r10-8], 5
			mov %r2, %r10
			add %r2, -8
			lddw %r1, map_fd 0
			mov %r3, 0
			call 87
			mov %r2, %r10
			add %r2, -16
			lddw %r1, map_fd 0
			call 88
			ldxdw %r0, [%r10-16]
			exit`},
		{name: "probe_read_str result", typ: "raw_tp", maps: []string{"array:4:16:1"}, asm: `
			mov %r1, %r10
			add %r1, -16
			mov %r2, 16
			mov %r3, 0
			call 45
			jsle %r0, 0, out
			mov %r6, %r0
			` + lookup + `
			add %r0, %r6
			ldxb %r0, [%r0-1]
		out:
			mov %r0, 0
			exit`},
	})
}

func TestReferences(t *testing.T) {
	rb := []string{"ringbuf:0:0:4096"}
	reserve := `
		lddw %r1, map_fd 0
		mov %r2, 16
		mov %r3, 0
		call 131
	`
	runCases(t, []vcase{
		{name: "reserve submit", maps: rb, asm: reserve + `
			jeq %r0, 0, out
			stdw [%r0+8], 1
			mov %r1, %r0
			mov %r2, 0
			call 132
		out:
			mov %r0, 0
			exit`},
		{name: "reserve discard", maps: rb, asm: reserve + `
			jeq %r0, 0, out
			mov %r1, %r0
			mov %r2, 0
			call 133
		out:
			mov %r0, 0
			exit`},
		{name: "leak", maps: rb, asm: reserve + `
			mov %r0, 0
			exit`, want: "without releasing the ring buffer record acquired at instruction 3", kmsg: "alloc_insn=4"},
		{name: "leak on one path", maps: rb, asm: reserve + `
			jeq %r0, 0, out
			mov %r6, %r0
			call 7
			jeq %r0, 0, out
			mov %r1, %r6
			mov %r2, 0
			call 132
		out:
			mov %r0, 0
			exit`, want: "without releasing", kmsg: "Unreleased reference"},
		{name: "submit twice", maps: rb, asm: reserve + `
			jeq %r0, 0, out
			mov %r6, %r0
			mov %r1, %r0
			mov %r2, 0
			call 132
			mov %r1, %r6
			mov %r2, 0
			call 132
		out:
			mov %r0, 0
			exit`, want: "must be a record from bpf_ringbuf_reserve", kmsg: "R1 type=scalar expected=ringbuf_mem"},
		{name: "use after submit", maps: rb, asm: reserve + `
			jeq %r0, 0, out
			mov %r6, %r0
			mov %r1, %r0
			mov %r2, 0
			call 132
			stdw [%r6], 1
		out:
			mov %r0, 0
			exit`, want: "not a pointer", kmsg: "R6 invalid mem access 'scalar'"},
		{name: "submit unchecked", maps: rb, asm: reserve + `
			mov %r1, %r0
			mov %r2, 0
			call 132
			mov %r0, 0
			exit`, want: "may be NULL", kmsg: "R1 type=ringbuf_mem_or_null expected=ringbuf_mem"},
		{name: "record bounds", maps: rb, asm: reserve + `
			jeq %r0, 0, out
			stdw [%r0+16], 1
			mov %r1, %r0
			mov %r2, 0
			call 132
		out:
			mov %r0, 0
			exit`, want: "outside the 16 bytes", kmsg: "invalid access to memory, mem_size=16 off=16 size=8"},
		{name: "reserve size not constant", maps: rb, asm: random + `
			mov %r2, %r0
			and %r2, 15
			lddw %r1, map_fd 0
			mov %r3, 0
			call 131
			mov %r0, 0
			exit`, want: "must be a constant", kmsg: "R2 is not a known constant"},
		{name: "tail call with reference", maps: []string{"ringbuf:0:0:4096", "prog_array:4:4:4"}, asm: `
			mov %r6, %r1
			` + reserve + `
			jeq %r0, 0, out
			mov %r7, %r0
			mov %r1, %r6
			lddw %r2, map_fd 1
			mov %r3, 0
			call 12
			mov %r1, %r7
			mov %r2, 0
			call 133
		out:
			mov %r0, 0
			exit`, want: "never be released", kmsg: "tail_call would lead to reference leak"},
	})
	lock := func(p *Program) {
		p.Maps[0].HasSpinLock = true
		p.Maps[0].SpinLockOffset = 0
	}
	lk := []string{"array:4:16:1"}
	get := lookup + "jeq %r0, 0, out\nmov %r6, %r0\n"
	runCases(t, []vcase{
		{name: "spin lock", maps: lk, setup: lock, typ: "tc", asm: get + `
			mov %r1, %r6
			call 93
			stdw [%r6+8], 1
			mov %r1, %r6
			call 94
		out:
			mov %r0, 0
			exit`},
		{name: "spin lock missing unlock", maps: lk, setup: lock, typ: "tc", asm: get + `
			mov %r1, %r6
			call 93
		out:
			mov %r0, 0
			exit`, want: "ends holding the bpf_spin_lock", kmsg: "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region"},
		{name: "call in locked region", maps: lk, setup: lock, typ: "tc", asm: get + `
			mov %r1, %r6
			call 93
			call 7
			mov %r1, %r6
			call 94
		out:
			mov %r0, 0
			exit`, want: "while the bpf_spin_lock", kmsg: "function calls are not allowed while holding a lock"},
		{name: "unlock without lock", maps: lk, setup: lock, typ: "tc", asm: get + `
			mov %r1, %r6
			call 94
		out:
			mov %r0, 0
			exit`, want: "no bpf_spin_lock is held", kmsg: "bpf_spin_unlock without taking a lock"},
		{name: "lock field store", maps: lk, setup: lock, typ: "tc", asm: get + `
			stw [%r6], 0
		out:
			mov %r0, 0
			exit`, want: "touches the struct bpf_spin_lock", kmsg: "bpf_spin_lock cannot be accessed directly by load/store"},
		{name: "lock wrong offset", maps: lk, setup: lock, typ: "tc", asm: get + `
			mov %r1, %r6
			add %r1, 8
			call 93
			mov %r1, %r6
			add %r1, 8
			call 94
		out:
			mov %r0, 0
			exit`, want: "the lock is at offset 0", kmsg: "off 8 doesn't point to 'struct bpf_spin_lock' that is at 0"},
		{name: "lock in socket filter", maps: lk, setup: lock, typ: "socket", asm: get + `
		out:
			mov %r0, 0
			exit`, want: "socket filters may not use", kmsg: "socket filter progs cannot use bpf_spin_lock yet"},
	})
}

func TestContext(t *testing.T) {
	runCases(t, []vcase{
		{name: "xdp read", asm: `
			ldxw %r0, [%r1+12]
			ldxw %r0, [%r1+16]
			exit`},
		{name: "xdp write", asm: `
			stw [%r1+12], 0
			mov %r0, 0
			exit`, want: "may not be written", kmsg: "invalid bpf_context access off=12 size=4"},
		{name: "xdp narrow read", asm: `
			ldxb %r0, [%r1+12]
			exit`, want: "1 bytes at a time", kmsg: "invalid bpf_context access off=12 size=1"},
		{name: "xdp egress_ifindex", asm: `
			ldxw %r0, [%r1+20]
			exit`, want: "no field", kmsg: "invalid bpf_context access off=20 size=4"},
		{name: "xdp past end", asm: `
			ldxw %r0, [%r1+24]
			exit`, want: "outside struct xdp_md", kmsg: "invalid bpf_context access off=24 size=4"},
		{name: "tc write mark", typ: "tc", asm: `
			stw [%r1+8], 1
			mov %r0, 0
			exit`},
		{name: "tc narrow read", typ: "tc", asm: `
			ldxh %r0, [%r1+16]
			ldxb %r0, [%r1+3]
			exit`},
		{name: "tc write len", typ: "tc", asm: `
			stw [%r1+0], 1
			mov %r0, 0
			exit`, want: "may not be written", kmsg: "invalid bpf_context access off=0 size=4"},
		{name: "tc cb", typ: "tc", asm: `
			stdw [%r1+48], 1
			ldxdw %r0, [%r1+56]
			exit`},
		{name: "tc cb past end", typ: "tc", asm: `
			ldxdw %r0, [%r1+64]
			exit`, want: "runs past the field cb", kmsg: "invalid bpf_context access off=64 size=8"},
		{name: "tc tstamp", typ: "tc", asm: `
			ldxdw %r0, [%r1+152]
			stxdw [%r1+152], %r0
			exit`},
		{name: "tc family", typ: "tc", asm: `
			ldxw %r0, [%r1+88]
			exit`, want: "no field", kmsg: "invalid bpf_context access off=88 size=4"},
		{name: "socket write mark", typ: "socket", asm: `
			stw [%r1+8], 1
			mov %r0, 0
			exit`, want: "may not be written", kmsg: "invalid bpf_context access off=8 size=4"},
		{name: "socket write cb", typ: "socket", asm: `
			stw [%r1+48], 1
			mov %r0, 0
			exit`},
		{name: "socket read sk", typ: "socket", asm: `
			ldxdw %r2, [%r1+168]
			mov %r0, 0
			exit`},
		{name: "modified ctx", typ: "tc", asm: `
			add %r1, 8
			ldxw %r0, [%r1]
			exit`, want: "unmodified context pointer", kmsg: "dereference of modified ctx ptr R1 off=8 disallowed"},
		{name: "raw_tp args", typ: "raw_tp", asm: `
			ldxdw %r0, [%r1+8]
			ldxw %r0, [%r1+88]
			exit`},
		{name: "raw_tp write", typ: "raw_tp", asm: `
			stdw [%r1], 0
			mov %r0, 0
			exit`, want: "read-only", kmsg: "invalid bpf_context access off=0 size=8"},
		{name: "raw_tp past end", typ: "raw_tp", asm: `
			ldxdw %r0, [%r1+96]
			exit`, want: "past its 96 bytes", kmsg: "invalid bpf_context access off=96 size=8"},
		{name: "kprobe regs", typ: "kprobe", asm: `
			ldxdw %r0, [%r1+160]
			ldxw %r0, [%r1+4]
			exit`},
		{name: "kprobe past regs", typ: "kprobe", asm: `
			ldxdw %r0, [%r1+168]
			exit`, want: "past its 168 bytes", kmsg: "invalid bpf_context access off=168 size=8"},
		{name: "tracepoint common fields", typ: "tp", asm: `
			ldxdw %r0, [%r1]
			exit`, want: "before offset 8", kmsg: "invalid bpf_context access off=0 size=8"},
		{name: "tracepoint field", typ: "tp", asm: `
			ldxw %r0, [%r1+8]
			exit`},
		{name: "perf event regs", typ: "perf", asm: `
			ldxdw %r0, [%r1+16]
			ldxw %r0, [%r1+168]
			exit`},
		{name: "perf event narrow regs", typ: "perf", asm: `
			ldxw %r0, [%r1+16]
			exit`, want: "8 bytes at a time", kmsg: "invalid bpf_context access off=16 size=4"},
		{name: "syscall write", typ: "syscall", asm: `
			stdw [%r1+16], 1
			ldxdw %r0, [%r1+16]
			exit`},
		{name: "ctx misaligned", typ: "syscall", asm: `
			ldxw %r0, [%r1+2]
			exit`, want: "not aligned", kmsg: "invalid bpf_context access off=2 size=4"},
	})
}

func TestPointerArithmetic(t *testing.T) {
	runCases(t, []vcase{
		{name: "mul pointer", asm: `
			mov %r2, %r10
			mul %r2, 2
			mov %r0, 0
			exit`, want: "only adding and subtracting", kmsg: "R2 pointer arithmetic with *= operator prohibited"},
		{name: "and pointer", asm: `
			mov %r2, %r10
			and %r2, -8
			mov %r0, 0
			exit`, want: "bitwise", kmsg: "R2 bitwise operator &= on pointer prohibited"},
		{name: "pointer minus pointer", asm: `
			mov %r2, %r10
			sub %r2, %r1
			mov %r0, 0
			exit`},
		{name: "pointer plus pointer", asm: `
			mov %r2, %r10
			add %r2, %r1
			mov %r0, 0
			exit`, want: "of two pointers", kmsg: "R2 pointer += pointer prohibited"},
		{name: "32-bit pointer add", asm: `
			mov %r2, %r10
			add32 %r2, 4
			mov %r0, 0
			exit`, want: "32-bit arithmetic on a pointer", kmsg: "R2 32-bit pointer arithmetic prohibited"},
		{name: "stack sub", asm: `
			mov %r2, %r10
			sub %r2, 8
			stdw [%r2], 0
			mov %r0, 0
			exit`, want: "add a negative number instead", kmsg: "R2 subtraction from stack pointer prohibited"},
		{name: "scalar minus pointer", asm: `
			mov %r2, 0
			sub %r2, %r10
			mov %r0, 0
			exit`, want: "from a number", kmsg: "R2 tried to subtract pointer from scalar"},
		{name: "huge constant", asm: `
			mov %r2, %r10
			add %r2, 0x40000000
			mov %r0, 0
			exit`, want: "too far", kmsg: "math between fp pointer and 1073741824 is not allowed"},
		{name: "neg pointer", asm: `
			mov %r2, %r10
			neg %r2
			mov %r0, %r2
			exit`},
		{name: "mov32 pointer", asm: `
			mov32 %r2, %r10
			mov %r0, %r2
			exit`},
		{name: "ctx plus scalar", typ: "tc", asm: `
			mov %r2, %r1
			add %r2, 8
			mov %r0, 0
			exit`},
		{name: "map ptr plus 0", maps: []string{"hash:4:8:4"}, asm: `
			lddw %r1, map_fd 0
			add %r1, 0
			mov %r0, 0
			exit`},
		{name: "map ptr plus 8", maps: []string{"hash:4:8:4"}, asm: `
			lddw %r1, map_fd 0
			add %r1, 8
			mov %r0, 0
			exit`, want: "arithmetic on map", kmsg: "R1 pointer arithmetic on map_ptr prohibited"},
		{name: "pkt_end arithmetic", asm: xdpPkt + `
			add %r3, -4
			mov %r0, 0
			exit`, want: "arithmetic on the end of the packet", kmsg: "R3 pointer arithmetic on pkt_end prohibited"},
	})
}

func TestJumps(t *testing.T) {
	runCases(t, []vcase{
		{name: "out of range", asm: `
			mov %r0, 0
			ja +5
			exit`, want: "outside the program", kmsg: "jump out of range from insn 1 to 7"},
		{name: "into lddw", asm: `
			mov %r0, 0
			jeq %r0, 0, +1
			lddw %r1, 5
			exit`, want: "second half", kmsg: "jump into the middle of ldimm64 insn 2"},
		{name: "dead branch", asm: `
			mov %r1, 1
			jeq %r1, 1, +1
			ldxdw %r0, [%r1]
			mov %r0, 0
			exit`},
		{name: "jmp32 signed", asm: random + `
			mov %r6, %r0
			mov %r0, 0
			jslt32 %r6, 0, out
			jsgt32 %r6, 7, out
			mov %r1, %r10
			add %r1, -8
			and %r6, 7
			add %r1, %r6
			stb [%r1], 1
		out:
			exit`},
		{name: "gotol", asm: `
			mov %r0, 0
			jeq %r1, 0, +1
			ja32 +1
			mov %r0, 1
			exit`},
		{name: "null compare non-null pointer", asm: `
			mov %r0, 0
			jne %r10, 0, +1
			exit
			exit`},
		{name: "pointer compare", asm: `
			mov %r0, 0
			jgt %r10, %r1, +1
			exit
			exit`},
		{name: "exit in the middle", asm: `
			mov %r0, 0
			jeq %r1, 0, +1
			exit
			mov %r0, 1
			exit`},
	})
}

func TestStrict(t *testing.T) {
	runCases(t, []vcase{
		{name: "pointer to map", typ: "socket", strict: true, maps: []string{"hash:4:8:4"}, asm: lookup + `
			jeq %r0, 0, out
			stxdw [%r0], %r10
		out:
			mov %r0, 0
			exit`, want: "may not store a pointer", kmsg: "R10 leaks addr into map"},
		{name: "pointer return", typ: "socket", strict: true, asm: `
			mov %r0, %r10
			exit`, want: "may not return a pointer", kmsg: "R0 leaks addr as return value"},
		{name: "pointer to helper", typ: "socket", strict: true, asm: `
			mov %r1, %r10
			mov %r2, 0
			call 23
			mov %r0, 0
			exit`, want: "helper 23"},
		{name: "pointer minus pointer", typ: "socket", strict: true, asm: `
			mov %r2, %r10
			sub %r2, %r1
			mov %r0, 0
			exit`, want: "of two pointers", kmsg: "R2 pointer -= pointer prohibited"},
		{name: "pointer comparison", typ: "socket", strict: true, asm: `
			mov %r0, 0
			jgt %r10, %r1, +1
			exit
			exit`, want: "compare pointers", kmsg: "pointer comparison prohibited"},
		{name: "accepted", typ: "socket", strict: true, maps: []string{"hash:4:8:4"}, asm: lookup + `
			jeq %r0, 0, out
			ldxdw %r0, [%r0]
			exit
		out:
			mov %r0, 0
			exit`},
	})
}

func TestGlobalFunctions(t *testing.T) {
	global := func(args ...GlobalArg) func(p *Program) {
		return func(p *Program) {
			// The function starts after the main program's exit.
			for i, ins := range p.Instructions {
				if ins.IsLocalCall() {
					p.GlobalFunctions = []GlobalFunction{{Start: p.prog(i), Name: "g", Args: args}}
					return
				}
			}
		}
	}
	mem4 := GlobalArg{Kind: GlobalArgMem, Size: 4}
	call := `
		stw [%r10-4], 7
		mov %r1, %r10
		add %r1, -4
		call local g
		exit
	g:
	`
	runCases(t, []vcase{
		{name: "pointer may be null", setup: global(mem4), kernelDiffers: "needs BTF for the global function", asm: call + `
			ldxw %r0, [%r1]
			exit`, want: "may be NULL", kmsg: "R1 invalid mem access 'mem_or_null'"},
		{name: "pointer checked", setup: global(mem4), kernelDiffers: "needs BTF for the global function", asm: call + `
			mov %r0, 0
			jeq %r1, 0, +1
			ldxw %r0, [%r1]
			exit`},
		{name: "past the pointed memory", setup: global(mem4), kernelDiffers: "needs BTF for the global function", asm: call + `
			mov %r0, 0
			jeq %r1, 0, +1
			ldxw %r0, [%r1+4]
			exit`, want: "outside the 4 bytes", kmsg: "invalid access to memory, mem_size=4 off=4 size=4"},
		{name: "caller memory too small", setup: global(GlobalArg{Kind: GlobalArgMem, Size: 16}), kernelDiffers: "needs BTF for the global function", asm: `
			mov %r1, %r10
			add %r1, -4
			call local g
			exit
		g:
			mov %r0, 0
			exit`, want: "outside the stack frame", kmsg: "invalid write to stack R1 off=-4 size=16"},
		{name: "scalar argument", setup: global(GlobalArg{Kind: GlobalArgScalar}), kernelDiffers: "needs BTF for the global function", asm: `
			mov %r1, %r10
			call local g
			exit
		g:
			mov %r0, %r1
			exit`, want: "is a number in the function's prototype", kmsg: "R1 is not a scalar"},
		{name: "returns a pointer", setup: global(GlobalArg{Kind: GlobalArgCtx}), kernelDiffers: "needs BTF for the global function", asm: `
			call local g
			mov %r0, 0
			exit
		g:
			mov %r0, %r1
			exit`, want: "must return a number", kmsg: "At subprogram exit the register R0 is not a scalar value (ctx)"},
		{name: "result is unknown", setup: global(GlobalArg{Kind: GlobalArgScalar}), kernelDiffers: "needs BTF for the global function", asm: `
			mov %r1, 1
			call local g
			jeq %r0, 1, +1
			ldxdw %r0, [%r9]
			exit
		g:
			mov %r0, 1
			exit`, want: "r9 is read before", kmsg: "R9 !read_ok"},
	})
}

// prog is the instruction index a local call at i goes to.
func (p *Program) prog(i int) int {
	slot := 0
	for j := 0; j < i; j++ {
		slot += p.Instructions[j].Slots()
	}
	t, _ := p.Instructions[i].JumpTarget(slot)
	s := 0
	for j, ins := range p.Instructions {
		if s == t {
			return j
		}
		s += ins.Slots()
	}
	return -1
}

func TestStrictMore(t *testing.T) {
	runCases(t, []vcase{
		{name: "no bpf-to-bpf calls", typ: "socket", strict: true, asm: `
			call local f
			exit
		f:
			mov %r0, 0
			exit`, want: "may not call other functions", kmsg: "allowed for CAP_BPF"},
		{name: "no printk", typ: "socket", strict: true, asm: `
			stdw [%r10-8], 0
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			call 6
			mov %r0, 0
			exit`, want: "needs CAP_BPF or CAP_PERFMON", kmsg: "cannot use helper bpf_trace_printk#6"},
		{name: "prandom allowed", typ: "socket", strict: true, asm: `
			call 7
			exit`},
		{name: "uninit stack to helper", typ: "socket", strict: true, maps: []string{"hash:4:8:4"}, asm: `
			stw [%r10-4], 0
			mov %r2, %r10
			add %r2, -4
			mov %r3, %r10
			add %r3, -16
			lddw %r1, map_fd 0
			mov %r4, 0
			call 2
			mov %r0, 0
			exit`, want: "never written", kmsg: "invalid indirect read from stack R3 off -16+0 size 8"},
	})
}

func TestUserHelpers(t *testing.T) {
	unknown := func(p *Program) { p.Helpers = map[int32]helper.Helper{1000: {Name: "my_helper"}} }
	typed := func(p *Program) {
		p.Helpers = map[int32]helper.Helper{1000: {Name: "my_sum", Proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMem, helper.ArgSize}, Ret: helper.RetInteger}}}
	}
	init5 := "mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\n"
	runCases(t, []vcase{
		{name: "unknown prototype", setup: unknown, kernelDiffers: "a helper of waggle's user", asm: init5 + `
			call 1000
			exit`},
		{name: "unknown prototype needs initialised arguments", setup: unknown, kernelDiffers: "a helper of waggle's user", asm: `
			mov %r1, 1
			call 1000
			exit`, want: "r2 is read before", kmsg: "R2 !read_ok"},
		{name: "unknown prototype may write the stack", setup: unknown, kernelDiffers: "a helper of waggle's user", asm: init5 + `
			stxdw [%r10-8], %r10
			mov %r1, %r10
			add %r1, -16
			call 1000
			ldxdw %r1, [%r10-8]
			ldxdw %r0, [%r1-8]
			exit`, want: "not a pointer", kmsg: "R1 invalid mem access 'scalar'"},
		{name: "not registered", kernelDiffers: "a helper of waggle's user", asm: init5 + `
			call 1000
			exit`, want: "neither a kernel helper"},
		{name: "typed prototype", setup: typed, kernelDiffers: "a helper of waggle's user", asm: `
			stdw [%r10-8], 0
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			call 1000
			exit`},
		{name: "typed prototype checks size", setup: typed, kernelDiffers: "a helper of waggle's user", asm: `
			stdw [%r10-8], 0
			mov %r1, %r10
			add %r1, -8
			mov %r2, 16
			call 1000
			exit`, want: "outside the stack frame"},
	})
}
