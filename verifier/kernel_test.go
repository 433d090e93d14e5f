package verifier

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/isa"
)

// The kernel's own verifier, for comparison: tests load the same programs
// into the running kernel when they can (root, bpf() available).

var kernelOnce struct {
	sync.Once
	err error
}

// kernelAvailable reports why the kernel's verifier cannot be used, or nil.
func kernelAvailable() error {
	kernelOnce.Do(func() {
		if os.Geteuid() != 0 {
			kernelOnce.err = errors.New("not root")
			return
		}
		if err := rlimit.RemoveMemlock(); err != nil {
			kernelOnce.err = err
			return
		}
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
		if err != nil {
			kernelOnce.err = err
			return
		}
		m.Close()
	})
	return kernelOnce.err
}

// spinLockBTF builds a BTF value type holding a bpf_spin_lock at off.
func spinLockBTF(size, off uint32) *btf.Struct {
	lock := &btf.Struct{Name: "bpf_spin_lock", Size: 4, Members: []btf.Member{
		{Name: "val", Type: &btf.Int{Name: "unsigned int", Size: 4}},
	}}
	var members []btf.Member
	if off > 0 {
		members = append(members, btf.Member{Name: "pad", Type: &btf.Array{Type: &btf.Int{Name: "char", Size: 1}, Index: &btf.Int{Name: "int", Size: 4}, Nelems: off}})
	}
	members = append(members, btf.Member{Name: "lock", Type: lock, Offset: btf.Bits(off * 8)})
	if rest := size - off - 4; rest > 0 {
		members = append(members, btf.Member{Name: "rest", Type: &btf.Array{Type: &btf.Int{Name: "char", Size: 1}, Index: &btf.Int{Name: "int", Size: 4}, Nelems: rest}, Offset: btf.Bits((off + 4) * 8)})
	}
	return &btf.Struct{Name: "val", Size: size, Members: members}
}

func kernelMapSpec(m *Map) *ebpf.MapSpec {
	ms := &ebpf.MapSpec{Name: "", Type: m.Type, KeySize: m.KeySize, ValueSize: m.ValueSize, MaxEntries: m.MaxEntries, Flags: m.Flags}
	if m.InnerMap != nil {
		ms.InnerMap = kernelMapSpec(m.InnerMap)
	}
	if m.HasSpinLock {
		ms.Key = &btf.Int{Name: "unsigned int", Size: m.KeySize}
		ms.Value = spinLockBTF(m.ValueSize, m.SpinLockOffset)
	}
	if m.Value != nil {
		ms.Contents = []ebpf.MapKV{{Key: uint32(0), Value: m.Value}}
	}
	return ms
}

// kernelVerify loads p into the kernel. It returns the verifier's log and
// whether the program was accepted; err reports a problem other than a
// rejection (or that the kernel is not available).
func kernelVerify(p *Program, logLevel ebpf.LogLevel) (accepted bool, log string, err error) {
	if err := kernelAvailable(); err != nil {
		return false, "", err
	}
	var fds []*ebpf.Map
	defer func() {
		for _, m := range fds {
			m.Close()
		}
	}()
	for _, m := range p.Maps {
		km, err := ebpf.NewMap(kernelMapSpec(m))
		if err != nil {
			return false, "", fmt.Errorf("map %s: %w", m.Name, err)
		}
		fds = append(fds, km)
		if m.Value != nil && m.Flags&bpfFRdonlyProg != 0 {
			if err := km.Freeze(); err != nil {
				return false, "", fmt.Errorf("freeze map %s: %w", m.Name, err)
			}
		}
	}
	insns := append(isa.Instructions(nil), p.Instructions...)
	for i := range insns {
		ins := &insns[i]
		if !ins.IsLdDW() {
			continue
		}
		switch uint8(ins.Src) {
		case isa.PseudoMapFD:
			idx := int(uint32(ins.Imm))
			if idx < len(fds) {
				ins.Imm = int64(fds[idx].FD())
			}
		case isa.PseudoMapValue:
			idx := int(uint32(ins.Imm))
			if idx < len(fds) {
				ins.Imm = int64(uint64(ins.Imm)&^0xffffffff | uint64(uint32(fds[idx].FD())))
			}
		}
	}
	var ci asm.Instructions
	r := bytes.NewReader(insns.Encode())
	for r.Len() > 0 {
		var ins asm.Instruction
		if err := ins.Unmarshal(r, binary.LittleEndian, "linux"); err != nil {
			return false, "", err
		}
		ci = append(ci, ins)
	}
	// Function information for every function, which programs with
	// callbacks need.
	starts := map[int]bool{0: true}
	slot := 0
	slotIdx := map[int]int{}
	for i, ins := range insns {
		slotIdx[slot] = i
		slot += ins.Slots()
	}
	slot = 0
	for _, ins := range insns {
		if t, ok := ins.JumpTarget(slot); ok && (ins.IsLocalCall() || ins.IsLdDW()) {
			if i, ok := slotIdx[t]; ok {
				starts[i] = true
			}
		}
		slot += ins.Slots()
	}
	for i := range starts {
		fn := &btf.Func{Name: fmt.Sprintf("f%d", i), Linkage: btf.StaticFunc,
			Type: &btf.FuncProto{Return: &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}}}
		if i == 0 {
			fn.Linkage = btf.GlobalFunc
			fn.Type = &btf.FuncProto{Return: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}}
		}
		ci[i] = btf.WithFuncMetadata(ci[i], fn)
	}
	typ := p.Type
	if typ == kernel.RawMemory {
		typ = ebpf.Syscall
	}
	spec := &ebpf.ProgramSpec{Name: "t", Type: typ, AttachType: p.AttachType, Instructions: ci, License: "GPL"}
	if typ == ebpf.Syscall {
		spec.Flags = 1 << 4 // BPF_F_SLEEPABLE
	}
	prog, err := ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{LogLevel: logLevel | ebpf.LogLevelStats, LogSizeStart: 1 << 22})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return false, strings.Join(ve.Log, "\n"), nil
		}
		return false, err.Error(), nil
	}
	defer prog.Close()
	return true, prog.VerifierLog, nil
}

// kernelLacks probes the host kernel for the program type of p, the
// helpers it calls and the types of its maps, and returns what it lacks
// (nil when nothing).
func kernelLacks(p *Program) (*kerneltest.UnsupportedError, error) {
	insns, err := asm.AppendInstructions(nil, bytes.NewReader(p.Instructions.Encode()), binary.LittleEndian, "linux")
	if err != nil {
		return nil, err
	}
	typ := p.Type
	if typ == kernel.RawMemory {
		typ = ebpf.Syscall
	}
	if ue, err := kerneltest.ProgramLacks(p.Name, typ, insns); ue != nil || err != nil {
		return ue, err
	}
	for _, m := range p.Maps {
		if ue, err := kerneltest.MapLacks(m.Type); ue != nil || err != nil {
			return ue, err
		}
	}
	return nil, nil
}

// TestKernelScratch loads the assembly file in $WAGGLE_ASM into the kernel
// and into Verify and prints both verdicts: a tool for development.
// $WAGGLE_TYPE is the program type (xdp, tc, socket, raw_tp, syscall, ...),
// $WAGGLE_MAPS a list of maps "type:key:value:entries[:flags]" separated by
// spaces.
func TestKernelScratch(t *testing.T) {
	path := os.Getenv("WAGGLE_ASM")
	if path == "" {
		t.Skip("WAGGLE_ASM not set")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	insns, err := assembler.Assemble(string(src))
	if err != nil {
		t.Fatal(err)
	}
	p := &Program{Name: "scratch", Type: testProgType(t, os.Getenv("WAGGLE_TYPE")), Instructions: insns}
	for _, f := range strings.Fields(os.Getenv("WAGGLE_MAPS")) {
		p.Maps = append(p.Maps, parseTestMap(t, f))
	}
	ok, log, err := kernelVerify(p, ebpf.LogLevelInstruction)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("kernel: accepted=%v\n%s\n", ok, log)
}

func testProgType(t testing.TB, s string) ebpf.ProgramType {
	switch s {
	case "", "xdp":
		return ebpf.XDP
	case "tc":
		return ebpf.SchedCLS
	case "socket":
		return ebpf.SocketFilter
	case "raw_tp":
		return ebpf.RawTracepoint
	case "syscall":
		return ebpf.Syscall
	case "kprobe":
		return ebpf.Kprobe
	case "tp":
		return ebpf.TracePoint
	case "perf":
		return ebpf.PerfEvent
	case "raw":
		return kernel.RawMemory
	}
	t.Fatalf("unknown program type %q", s)
	return 0
}

var testMapTypes = map[string]ebpf.MapType{
	"array": ebpf.Array, "hash": ebpf.Hash, "percpu_array": ebpf.PerCPUArray, "percpu_hash": ebpf.PerCPUHash,
	"lru_hash": ebpf.LRUHash, "ringbuf": ebpf.RingBuf, "prog_array": ebpf.ProgramArray, "queue": ebpf.Queue,
	"stack": ebpf.Stack, "perf": ebpf.PerfEventArray, "lpm": ebpf.LPMTrie, "bloom": ebpf.BloomFilter,
	"devmap": ebpf.DevMap, "array_of_maps": ebpf.ArrayOfMaps, "hash_of_maps": ebpf.HashOfMaps,
}

// parseTestMap reads "type:key:value:entries[:flags]".
func parseTestMap(t testing.TB, s string) *Map {
	var typ string
	var m Map
	parts := strings.Split(s, ":")
	typ = parts[0]
	mt, ok := testMapTypes[typ]
	if !ok {
		t.Fatalf("unknown map type %q", typ)
	}
	m.Type = mt
	nums := []*uint32{&m.KeySize, &m.ValueSize, &m.MaxEntries, &m.Flags}
	for i, p := range parts[1:] {
		if i >= len(nums) {
			break
		}
		var v uint32
		if _, err := fmt.Sscanf(p, "%v", &v); err != nil {
			t.Fatalf("map %q: %v", s, err)
		}
		*nums[i] = v
	}
	if m.Type == ebpf.ArrayOfMaps || m.Type == ebpf.HashOfMaps {
		m.InnerMap = &Map{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 4}
	}
	return &m
}
