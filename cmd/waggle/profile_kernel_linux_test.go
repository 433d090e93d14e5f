package main

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/internal/proctest"
	"github.com/waggle-ebpf/waggle/internal/symtab"
)

// TestProfileKernel runs waggle's default profile program in the kernel
// too (cilium/ebpf, a perf event per CPU of the command, inherited, with
// the program attached by PERF_EVENT_IOC_SET_BPF) on the same C program,
// built without PIE so that both runs' addresses symbolise from the file
// alone, and checks that the hottest user stack is the same, and hot's
// share above 90 % in both.
func TestProfileKernel(t *testing.T) {
	if err := kerneltest.Available(); err != nil {
		t.Skipf("skipped: the kernel cannot run the program here: %v", err)
	}
	needProfiling(t)
	busy := proctest.BuildC(t, "../../testdata/profile/busy.c", "-O1", "-fno-omit-frame-pointer", "-no-pie", "-pthread")
	// The frames in busy itself, from main to the leaf.
	own := map[string]bool{"main": true, "spin": true, "warm": true, "hot": true, "start": true}
	keepOwn := func(frames []string) string {
		var kept []string
		for _, f := range frames {
			if own[f] {
				kept = append(kept, f)
			}
		}
		return strings.Join(kept, ";")
	}

	r := runProfile(t, "--freq", "499", "--", busy, "150000000")
	checkHot(t, r, "hot", "main;spin;warm")
	waggleTop, waggleCount := "", uint64(0)
	for _, line := range strings.Split(strings.TrimSpace(r.folded), "\n") {
		i := strings.LastIndexByte(line, ' ')
		n, err := strconv.ParseUint(line[i+1:], 10, 64)
		if err != nil {
			t.Fatalf("folded line %q: %v", line, err)
		}
		if n > waggleCount {
			waggleTop, waggleCount = keepOwn(strings.Split(line[:i], ";")), n
		}
	}

	spec, err := waggle.LoadCollectionSpec("bpf/profile.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := kerneltest.LoadCollection(spec, ebpf.CollectionOptions{}, "sample", "counts", "stacks")
	if err != nil {
		kerneltest.SkipIfUnsupported(t, err)
		t.Fatal(err)
	}
	defer coll.Close()
	// The shell waits until the events are open, then becomes busy
	// (exec keeps the process, and its events).
	cmd := exec.Command("/bin/sh", "-c", "read go; exec \"$0\" 150000000", busy)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_CPU_CLOCK,
		Sample: 1_000_000_000 / 499, Bits: unix.PerfBitInherit}
	attr.Size = uint32(unsafe.Sizeof(attr))
	cpus, err := onlineCPUList()
	if err != nil {
		t.Fatal(err)
	}
	for _, cpu := range cpus {
		fd, err := unix.PerfEventOpen(&attr, cmd.Process.Pid, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			t.Fatalf("perf_event_open on CPU %d: %v", cpu, err)
		}
		defer unix.Close(fd)
		if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, coll.Programs["sample"].FD()); err != nil {
			t.Skipf("skipped: the kernel does not attach the program to the perf event: %v", err)
		}
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}

	ef, err := elf.Open(busy)
	if err != nil {
		t.Fatal(err)
	}
	var maps []symtab.Mapping
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			maps = append(maps, symtab.Mapping{Start: p.Vaddr, End: p.Vaddr + p.Memsz, Offset: p.Off, Perms: "r-xp", Path: busy})
		}
	}
	ef.Close()
	sym := symtab.NewSymbolizer(maps, nil)
	byStack := map[string]uint64{}
	var total, hot uint64
	it := coll.Maps["counts"].Iterate()
	var key []byte
	var count uint64
	for it.Next(&key, &count) {
		if strings.TrimRight(string(key[12:28]), "\x00") != "busy" {
			continue
		}
		total += count
		id := int32(binary.NativeEndian.Uint32(key[4:]))
		if id < 0 {
			continue
		}
		b, err := coll.Maps["stacks"].LookupBytes(uint32(id))
		if err != nil || b == nil {
			continue
		}
		var frames []string
		for i := 0; i+8 <= len(b); i += 8 {
			a := binary.NativeEndian.Uint64(b[i:])
			if a == 0 {
				break
			}
			if i > 0 {
				a--
			}
			frames = append([]string{sym.Symbolize(a).Func}, frames...)
		}
		if len(frames) > 0 && frames[len(frames)-1] == "hot" {
			hot += count
		}
		byStack[keepOwn(frames)] += count
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	stacks := make([]string, 0, len(byStack))
	for s := range byStack {
		stacks = append(stacks, s)
	}
	sort.Slice(stacks, func(i, j int) bool { return byStack[stacks[i]] > byStack[stacks[j]] })
	if total == 0 || len(stacks) == 0 {
		t.Fatal("the kernel's run counted no samples of busy")
	}
	t.Logf("kernel: %d samples, hot %d; hottest stack %s (%d); waggle: %d samples, hottest stack %s (%d)",
		total, hot, stacks[0], byStack[stacks[0]], r.summary.Samples, waggleTop, waggleCount)
	if hot*10 < total*9 {
		t.Errorf("the kernel's run has hot in %d of %d samples; want at least 90 %%", hot, total)
	}
	if stacks[0] != waggleTop {
		t.Errorf("hottest user stack: kernel %q, waggle %q", stacks[0], waggleTop)
	}
}

// onlineCPUList reads /sys/devices/system/cpu/online ("0-3,5").
func onlineCPUList() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, err
	}
	var cpus []int
	for part := range strings.SplitSeq(strings.TrimSpace(string(b)), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		z, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("/sys/devices/system/cpu/online: %q is not a CPU list", b)
		}
		for c := a; c <= z; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
