package waggle_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/usdt"
	"github.com/waggle-ebpf/waggle/verifier"
)

// TestUSDTObjectsUpToDate rebuilds testdata/usdt's BPF programs, when
// clang is installed, and compares them with the committed objects.
func TestUSDTObjectsUpToDate(t *testing.T) {
	kerneltest.ObjectsUpToDateWith(t, waggle.LoadCollectionSpec, "testdata/usdt/usdt.c", "testdata/usdt/kconfig.c", "testdata/usdt/named.c")
}

// userMemory is a traced thread's memory at an address, for helper.Task.
type userMemory struct {
	base uint64
	data []byte
}

func (m userMemory) ReadAt(p []byte, off int64) (int, error) {
	if uint64(off) < m.base || uint64(off)-m.base+uint64(len(p)) > uint64(len(m.data)) {
		return 0, errors.New("unmapped")
	}
	return copy(p, m.data[uint64(off)-m.base:]), nil
}

// TestUSDTObject loads a program written with libbpf's usdt.bpf.h — weak
// maps, hidden global functions, the LINUX_HAS_BPF_COOKIE extern — and
// runs it as a USDT site's hit does: the registers as the context, the
// site's spec in __bpf_usdt_specs under the attach cookie. The program
// reads its arguments through bpf_usdt_arg as the spec says.
func TestUSDTObject(t *testing.T) {
	for _, engine := range []waggle.Engine{waggle.EngineInterpreter, waggle.EngineAuto} {
		t.Run(engine.String(), func(t *testing.T) { testUSDTObject(t, engine) })
	}
}

func testUSDTObject(t *testing.T, engine waggle.Engine) {
	spec, err := waggle.LoadCollectionSpec("testdata/usdt/usdt.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	if got := coll.Programs["tick"].Engine(); engine == waggle.EngineInterpreter && got != engine {
		t.Fatalf("engine %s, want %s", got, engine)
	}
	kc := coll.Maps[".kconfig"]
	if kc == nil {
		t.Fatal("no .kconfig map")
	}
	var cfg []byte
	if err := kc.Lookup(uint32(0), &cfg); err != nil || len(cfg) != 1 || cfg[0] != 1 {
		t.Errorf(".kconfig = %v, %v; want LINUX_HAS_BPF_COOKIE true", cfg, err)
	}
	specs := coll.Maps["__bpf_usdt_specs"]
	if specs == nil || specs.ValueSize() != usdt.SpecSize {
		t.Fatalf("__bpf_usdt_specs: %v", specs)
	}
	const cookie = 7
	for _, c := range []struct {
		name   string
		args   string
		regs   map[int]uint64 // pt_regs offset → value
		idx    uint32
		round  uint32
		value  uint64
		usdtID uint64
	}{
		// gcc -O2: -4@%esi -4@%eax 8@%rdi
		{"registers", "-4@%esi -4@%eax 8@%rdi", map[int]uint64{104: 3, 80: 0xffffffff_00000009, 112: 0x7000}, 3, 9, 3009, 11},
		// gcc -O0: -4@-8(%rbp) -4@-4(%rbp) 8@%rax, the ints on the stack
		{"memory", "-4@-8(%rbp) -4@-4(%rbp) 8@%rax", map[int]uint64{32: 0x7010, 80: 0x7000}, 2, 4, 2004, 12},
		// constants
		{"constants", "-4@$1 4@$2 8@%rdx", map[int]uint64{96: 0x7000}, 1, 2, 1002, 13},
	} {
		t.Run(c.name, func(t *testing.T) {
			args, err := usdt.ParseArgs(c.args)
			if err != nil {
				t.Fatal(err)
			}
			b, err := usdt.Spec(args, c.usdtID)
			if err != nil {
				t.Fatal(err)
			}
			if err := specs.Update(uint32(cookie), b, ebpf.UpdateAny); err != nil {
				t.Fatal(err)
			}
			regs := make([]byte, 21*8)
			for off, v := range c.regs {
				binary.LittleEndian.PutUint64(regs[off:], v)
			}
			mem := userMemory{base: 0x7000, data: make([]byte, 32)}
			binary.LittleEndian.PutUint64(mem.data, c.value)
			binary.LittleEndian.PutUint32(mem.data[8:], c.idx)    // -8(%rbp) at 0x7008
			binary.LittleEndian.PutUint32(mem.data[12:], c.round) // -4(%rbp) at 0x700c
			task := &helper.Task{PID: 42, TGID: 40, Memory: mem}
			if _, err := coll.Programs["tick"].Run(&waggle.RunOptions{Context: regs, Task: task, Cookie: cookie}); err != nil {
				t.Fatal(err)
			}
			var v struct {
				Count, Value uint64
				TID          uint32
				Argc         int32
				Cookie       uint64
				Err          int64
			}
			key := struct{ Idx, Round uint32 }{c.idx, c.round}
			if err := coll.Maps["ticks"].Lookup(key, &v); err != nil {
				t.Fatalf("no entry %+v: %v", key, err)
			}
			if v.Count != 1 || v.Value != c.value || v.TID != 42 || v.Argc != 3 || v.Cookie != c.usdtID || v.Err != -2 {
				t.Errorf("entry %+v: %+v; want count 1, value %d, tid 42, 3 arguments, cookie %d, err -ENOENT", key, v, c.value, c.usdtID)
			}
		})
	}
	// A cookie naming no spec: bpf_usdt_arg fails, the program runs.
	regs := make([]byte, 21*8)
	if _, err := coll.Programs["tick"].Run(&waggle.RunOptions{Context: regs, Cookie: 99}); err != nil {
		t.Fatal(err)
	}
}

// TestKconfigExtern: a .kconfig extern waggle does not give is an error
// that names it, for the loader and the verifier's reader alike.
func TestKconfigExtern(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec("testdata/usdt/kconfig.o")
	if err != nil {
		t.Fatal(err)
	}
	_, err = waggle.NewCollection(spec)
	if err == nil || !strings.Contains(err.Error(), "extern CONFIG_HZ (__kconfig): waggle does not give it (the .kconfig externs it gives: LINUX_HAS_BPF_COOKIE)") {
		t.Errorf("NewCollection: %v", err)
	}
	if _, err := verifier.ProgramFromSpec(spec.Programs["kconfig"], spec.Maps); err == nil || !strings.Contains(err.Error(), "instruction 0: extern CONFIG_HZ (__kconfig): waggle does not give it") {
		t.Errorf("verifier.ProgramFromSpec: %v", err)
	}
	// The extern waggle gives is read from the .kconfig map: the
	// usdt.bpf.h object's programs verify with it (a load the reader
	// marks by metadata that kernel.KconfigLoad reads).
	usdtSpec, err := waggle.LoadCollectionSpec("testdata/usdt/usdt.o")
	if err != nil {
		t.Fatal(err)
	}
	p, err := verifier.ProgramFromSpec(usdtSpec.Programs["tick"], usdtSpec.Maps)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range p.Maps {
		found = found || m.Name == ".kconfig"
	}
	if !found {
		t.Error("the verifier's program has no .kconfig map")
	}
	if _, err := verifier.Verify(p, verifier.Options{}); err != nil {
		t.Errorf("verify tick: %v", err)
	}
}
