// Package kerneltest runs eBPF objects in the real Linux kernel, through
// cilium/ebpf and BPF_PROG_TEST_RUN, so that waggle's results can be checked
// against the kernel's. It is used only by tests.
//
// # Runs
//
// [Run] loads a whole object (every program and map, as cilium/ebpf's
// NewCollection does, so statically initialised prog_array and map-in-map
// slots are filled), optionally lets [Input.Setup] change it, runs one
// program [Input.Repeat] times and dumps the maps named in
// [Input.MapsToDump]. Each repetition is a separate BPF_PROG_TEST_RUN call
// with repeat = 1 on a fresh copy of the input: the kernel's own repeat
// count would reuse the packet buffer modified by the previous iteration for
// XDP and would run some iterations twice when a signal interrupts the
// system call, so waggle's emulation defines "repeat N" as N independent runs
// on the same input that share the maps. The results of the last run are
// returned.
//
// # CPUs
//
// The calling thread is pinned to one CPU (the first one the process may run
// on, normally CPU 0) for the whole run, and raw tracepoint programs are also
// told to run there (BPF_F_TEST_RUN_ON_CPU), so every run of a case executes
// on [Result.CPU]. Per-CPU map values are dumped for all possible CPUs
// ([Result.NumCPU], cilium/ebpf's PossibleCPU), concatenated in CPU order,
// each padded to a multiple of 8 bytes, which is the layout of the
// bpf(BPF_MAP_LOOKUP_ELEM) system call. A user-space runtime with a
// different number of CPUs compares either the slot of the CPU the program
// ran on ([PerCPUSlot]) together with "all other slots are zero", or the sum
// over CPUs of counters ([SumPerCPU]). Both give the same answer for the
// cases of this package, which run on a single CPU.
//
// # Map dumps
//
// See [Result.Maps] for how each map type is dumped.
package kerneltest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

// KV is one dumped map entry or one record read from a ring buffer, perf
// event array, queue or stack.
type KV struct {
	Key   []byte
	Value []byte
}

// Input is what one call of [Run] feeds the program.
type Input struct {
	// Data is the packet for XDP, TC and socket filter programs. The kernel
	// requires at least 14 bytes (an Ethernet header) for them; syscall and
	// raw tracepoint programs take no data.
	Data []byte
	// Context is the context: struct xdp_md or struct __sk_buff fields for
	// packet programs (optional), the raw context memory of a syscall
	// program, the u64 arguments of a raw tracepoint program.
	Context []byte
	// Repeat is how many times the program runs (0 means 1); see the package
	// documentation.
	Repeat int
	// MapsToDump names the maps (as in the object: "counts", ".bss",
	// ".data.foo", ...) whose contents go into Result.Maps.
	MapsToDump []string
	// Setup, if set, is called after the object is loaded and before the
	// first run, for instance to fill maps.
	Setup func(coll *ebpf.Collection) error
}

// Result is what one call of [Run] gave, after the last repetition.
type Result struct {
	// Retval is the program's return value.
	Retval uint32
	// DataOut is the packet after the run, for packet programs. For XDP it
	// starts at data_meta: metadata added with bpf_xdp_adjust_meta is part
	// of it. For socket filters it starts at the Ethernet header although
	// the program saw the packet from its network header.
	DataOut []byte
	// CtxOut is the context after the run: for syscall programs the context
	// memory as the program left it; for XDP and TC programs the xdp_md or
	// __sk_buff that the kernel reports back, when Input.Context was given;
	// nil otherwise (raw tracepoints return no context).
	CtxOut []byte
	// Maps holds the dumped maps by name:
	//   - array, hash, LRU, LPM trie and the global data sections: every
	//     entry that iteration yields, sorted by key bytes (arrays in index
	//     order, hash maps in a defined order rather than the kernel's);
	//   - per-CPU maps: the value of every possible CPU, each padded to 8
	//     bytes, concatenated in CPU order (see the package documentation);
	//   - ring buffers: the submitted records in order, keyed by their index
	//     (u32, little endian), discarded records excluded;
	//   - perf event arrays: the records read from every CPU's buffer, keyed
	//     by their index; a record's value is the raw sample as the kernel
	//     stores it, padded so that 4 + len is a multiple of 8 (the padding
	//     bytes are not defined, so programs emit sizes that need none);
	//   - queues and stacks: the elements in the order pop returns them,
	//     keyed by their index; the map is empty afterwards;
	//   - prog arrays and maps of maps: each occupied slot's key with, as
	//     value, the name of the program or map it holds;
	//   - bloom filters and other types cannot be iterated: Run fails.
	Maps map[string][]KV
	// CPU is the CPU the program ran on.
	CPU int
	// NumCPU is the number of possible CPUs, the number of slots of a
	// per-CPU value.
	NumCPU int
}

// Available reports whether this process can load programs into the kernel
// and run them with BPF_PROG_TEST_RUN. The error says what is missing.
func Available() error {
	if err := foreignKernel(); err != nil {
		return err
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:    "kerneltest_probe",
		Type:    ebpf.XDP,
		License: "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 2), // XDP_PASS
			asm.Return(),
		},
	})
	if err != nil {
		hint := ""
		if errors.Is(err, errno.EPERM) || errors.Is(err, errno.EACCES) {
			hint = fmt.Sprintf(" (euid %d; loading XDP programs needs root or CAP_BPF and CAP_NET_ADMIN, and kernel.unprivileged_bpf_disabled does not help)", os.Geteuid())
		}
		if errors.Is(err, errno.ENOSYS) {
			hint = " (the bpf() system call is not available: kernel without CONFIG_BPF_SYSCALL, or blocked by seccomp)"
		}
		return fmt.Errorf("kerneltest: cannot load a program into the kernel: %w%s", err, hint)
	}
	defer prog.Close()
	ret, _, err := prog.Test(make([]byte, 14))
	if err != nil {
		return fmt.Errorf("kerneltest: BPF_PROG_TEST_RUN does not work: %w", err)
	}
	if ret != 2 {
		return fmt.Errorf("kerneltest: BPF_PROG_TEST_RUN of a program returning 2 gave %d", ret)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// verifierDetail adds the whole verifier log to a verifier error.
func verifierDetail(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("%w\n%+v", err, ve)
	}
	return err
}

// PerCPUSlot returns CPU cpu's value from a dumped per-CPU value whose
// element size is valueSize (each CPU's slot is padded to 8 bytes).
func PerCPUSlot(v []byte, valueSize, cpu int) []byte {
	stride := (valueSize + 7) &^ 7
	if (cpu+1)*stride > len(v) {
		return nil
	}
	return v[cpu*stride : cpu*stride+valueSize]
}

// SumPerCPU adds up, over all CPUs, a per-CPU value made of little-endian
// u64 counters (valueSize a multiple of 8), as a runtime with a different
// number of CPUs would compare counters.
func SumPerCPU(v []byte, valueSize int) []byte {
	sum := make([]byte, valueSize)
	for off := 0; off+valueSize <= len(v); off += (valueSize + 7) &^ 7 {
		for i := 0; i+8 <= valueSize; i += 8 {
			s := binary.LittleEndian.Uint64(sum[i:]) + binary.LittleEndian.Uint64(v[off+i:])
			binary.LittleEndian.PutUint64(sum[i:], s)
		}
	}
	return sum
}

// foreignKernel says why there is no Linux kernel of this machine to run
// programs in: another system, or user-mode emulation; nil otherwise.
func foreignKernel() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("kerneltest: needs Linux, this is %s", runtime.GOOS)
	}
	if emu := Emulator(); emu != "" {
		return fmt.Errorf("kerneltest: the tests run under user-mode emulation (%s=%s): the host's kernel is not this machine's", EmulatedEnv, emu)
	}
	return nil
}
