package waggle_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// coreOut is struct out of testdata/core/task.c.
type coreOut struct {
	PID, TGID, PPID, LeaderPID                        int32
	Comm, LeaderComm                                  [16]byte
	MMExists, FSExists, RingbufExists, FSStructExists uint64
	StartStack                                        uint64
	Arg1                                              uint64
	GetStackExists, TaskBTFExists, GetStackValue      uint64
	TaskSize, CommSize                                uint64
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// TestCORE: testdata/core/task.c declares task_struct as vmlinux.h does,
// its fields elsewhere than in waggle's; its CO-RE relocations, resolved
// against waggle's kernel BTF, read the task_struct of bpf_get_current_task
// (the run's Task), and existence checks answer for waggle's kernel.
func TestCORE(t *testing.T) {
	for _, engine := range []waggle.Engine{waggle.EngineInterpreter, waggle.EngineJIT} {
		t.Run(fmt.Sprint(engine), func(t *testing.T) {
			if engine == waggle.EngineJIT && !jit.Supported {
				t.Skip(jit.Unsupported)
			}
			testCORE(t, engine)
		})
	}
}

func testCORE(t *testing.T, engine waggle.Engine) {
	spec, err := waggle.LoadCollectionSpec("testdata/core/task.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	ctx := make([]byte, 64) // struct syscall_trace_enter
	binary.NativeEndian.PutUint64(ctx[24:], 0x7f00deadbeef)
	for _, tc := range []struct {
		name                    string
		task                    *helper.Task
		pid, tgid, ppid, leader int32
		comm, leaderComm        string
	}{
		{"thread", &helper.Task{PID: 4243, TGID: 4242, PPID: 17, Comm: "worker"}, 4243, 4242, 17, 4242, "worker", "worker"},
		{"leader", &helper.Task{PID: 99, TGID: 99, PPID: 1, Comm: "a-very-long-command-name"}, 99, 99, 1, 99, "a-very-long-com", "a-very-long-com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := coll.Programs["task"].Run(&waggle.RunOptions{Context: ctx, Task: tc.task})
			if err != nil {
				t.Fatal(err)
			}
			if res != 0 {
				t.Fatalf("return value %d", res)
			}
			var o coreOut
			if err := coll.Maps["out"].Lookup(uint32(0), &o); err != nil {
				t.Fatal(err)
			}
			got := []any{o.PID, o.TGID, o.PPID, o.LeaderPID, cString(o.Comm[:]), cString(o.LeaderComm[:])}
			want := []any{tc.pid, tc.tgid, tc.ppid, tc.leader, tc.comm, tc.leaderComm}
			for i, name := range []string{"pid", "tgid", "real_parent->tgid", "group_leader->pid", "comm", "group_leader->comm"} {
				if got[i] != want[i] {
					t.Errorf("%s = %v, want %v", name, got[i], want[i])
				}
			}
			exists := []struct {
				name      string
				got, want uint64
			}{
				{"bpf_core_field_exists(task->mm)", o.MMExists, 0},
				{"bpf_core_field_exists(task->fs)", o.FSExists, 0},
				{"bpf_core_type_exists(struct bpf_ringbuf)", o.RingbufExists, 1},
				{"bpf_core_type_exists(struct fs_struct)", o.FSStructExists, 0},
				{"bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_stack)", o.GetStackExists, 1},
				{"bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)", o.TaskBTFExists, 0},
				{"bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_get_stack)", o.GetStackValue, 67},
				{"bpf_core_type_size(struct task_struct)", o.TaskSize, 40},
				{"bpf_core_field_size(task->comm)", o.CommSize, 16},
			}
			for _, e := range exists {
				if e.got != e.want {
					t.Errorf("%s = %d, want %d", e.name, e.got, e.want)
				}
			}
			if o.StartStack != 0 {
				t.Errorf("start_stack = %#x: the code that bpf_core_field_exists guards ran", o.StartStack)
			}
			if o.Arg1 != 0x7f00deadbeef {
				t.Errorf("ctx->args[1] = %#x, want 0x7f00deadbeef (the context's relocation)", o.Arg1)
			}
		})
	}
}

// TestCOREWithoutTask: without a task, bpf_get_current_task describes
// the waggle process.
func TestCOREWithoutTask(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec("testdata/core/task.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	if _, err := coll.Programs["task"].Run(&waggle.RunOptions{Context: make([]byte, 64)}); err != nil {
		t.Fatal(err)
	}
	var o coreOut
	if err := coll.Maps["out"].Lookup(uint32(0), &o); err != nil {
		t.Fatal(err)
	}
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	if int(o.TGID) != os.Getpid() || int(o.PPID) != os.Getppid() || int(o.LeaderPID) != os.Getpid() {
		t.Errorf("tgid %d, real_parent->tgid %d, group_leader->pid %d; want %d, %d, %d", o.TGID, o.PPID, o.LeaderPID, os.Getpid(), os.Getppid(), os.Getpid())
	}
	if want := strings.TrimSpace(string(comm)); cString(o.Comm[:]) != want {
		t.Errorf("comm %q, want %q", cString(o.Comm[:]), want)
	}
}

// TestCORERefusal: a field waggle's task_struct lacks, read where a path
// reaches it, is refused at load with the field's name, by NewCollection
// and without the verifier too.
func TestCORERefusal(t *testing.T) {
	spec, err := waggle.LoadCollectionSpec("testdata/core/reject_mm.o")
	if err != nil {
		t.Fatal(err)
	}
	for _, skip := range []bool{false, true} {
		_, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{SkipVerification: skip})
		if err == nil {
			t.Fatalf("SkipVerification %v: the program reading task_struct.mm loaded", skip)
		}
		for _, want := range []string{"read_mm", "CO-RE relocation byte_off of struct task_struct.mm", "does not provide field mm of struct task_struct", "pid, tgid, real_parent, group_leader, comm"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("SkipVerification %v: error %q does not contain %q", skip, err, want)
			}
		}
	}
}

// TestUnreachableHelperCall: as in the kernel, a call of a helper waggle
// lacks is refused only where the verifier reaches it (a frozen flag in
// .rodata turns off libbpf-tools' cgroup filters, which call
// bpf_current_task_under_cgroup); without the verifier it is refused at
// load. So is a dead call of an ID no helper has (0, BPF_FUNC_unspec,
// which the kernel accepts in dead code, or a negative one).
func TestUnreachableHelperCall(t *testing.T) {
	for _, id := range []string{"9999", "0", "-5"} {
		insns, err := assembler.Assemble(`
			mov %r1, 0
			jeq %r1, 0, +1
			call ` + id + `
			mov %r0, 7
			exit`)
		if err != nil {
			t.Fatal(err)
		}
		spec := &waggle.ProgramSpec{Name: "dead", Type: ebpf.RawTracepoint, Instructions: insns}
		for _, engine := range budgetEngines() {
			p, err := waggle.NewProgramWithOptions(spec, waggle.ProgramOptions{Engine: engine})
			if err != nil {
				t.Fatalf("call %s, %v: the verified program with a dead call was refused: %v", id, engine, err)
			}
			res, err := p.Run(&waggle.RunOptions{Context: make([]byte, 8)})
			p.Close()
			if err != nil || res != 7 {
				t.Errorf("call %s, %v: run: %d, %v; want 7", id, engine, res, err)
			}
		}
		_, err = waggle.NewProgramWithOptions(spec, waggle.ProgramOptions{SkipVerification: true})
		if err == nil || !strings.Contains(err.Error(), "helper "+id) {
			t.Errorf("call %s without the verifier: %v, want a refusal naming helper %s", id, err, id)
		}
	}
}

// TestCOREKernel: the same object read the current task's task_struct
// through CO-RE in the kernel (BPF_PROG_TEST_RUN of a raw tracepoint
// program, relocated against the kernel's BTF) and in waggle without a
// Task (the waggle process, relocated against waggle's BTF), on the same
// thread: the same pid, tgid, parent, group leader and names.
func TestCOREKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: comparing with the kernel needs root (bpf())")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// read reads struct out of raw_task.c: the first fields of coreOut.
	read := func(lookup func(any, any) error) coreOut {
		var b [48]byte
		if err := lookup(uint32(0), &b); err != nil {
			t.Fatal(err)
		}
		i32 := func(off int) int32 { return int32(binary.NativeEndian.Uint32(b[off:])) }
		o := coreOut{PID: i32(0), TGID: i32(4), PPID: i32(8), LeaderPID: i32(12)}
		copy(o.Comm[:], b[16:32])
		copy(o.LeaderComm[:], b[32:48])
		return o
	}

	wspec, err := waggle.LoadCollectionSpec("testdata/core/raw_task.o")
	if err != nil {
		t.Fatal(err)
	}
	wcoll, err := waggle.NewCollection(wspec)
	if err != nil {
		t.Fatal(err)
	}
	defer wcoll.Close()
	if _, err := wcoll.Programs["raw_task"].Run(&waggle.RunOptions{Context: make([]byte, 8)}); err != nil {
		t.Fatal(err)
	}
	w := read(wcoll.Maps["out"].Lookup)

	kspec, err := ebpf.LoadCollectionSpec("testdata/core/raw_task.o")
	if err != nil {
		t.Fatal(err)
	}
	kcoll, err := kerneltest.LoadCollection(kspec, ebpf.CollectionOptions{}, "raw_task", "out")
	kerneltest.SkipIfUnsupported(t, err)
	if err != nil {
		t.Fatalf("the kernel refuses the object: %v", err)
	}
	defer kcoll.Close()
	if _, err := kcoll.Programs["raw_task"].Run(&ebpf.RunOptions{Context: make([]byte, 8)}); err != nil {
		t.Fatal(err)
	}
	k := read(kcoll.Maps["out"].Lookup)

	got := []any{w.PID, w.TGID, w.PPID, w.LeaderPID, cString(w.Comm[:]), cString(w.LeaderComm[:])}
	want := []any{k.PID, k.TGID, k.PPID, k.LeaderPID, cString(k.Comm[:]), cString(k.LeaderComm[:])}
	for i, name := range []string{"pid", "tgid", "real_parent->tgid", "group_leader->pid", "comm", "group_leader->comm"} {
		if got[i] != want[i] {
			t.Errorf("%s: waggle %v, the kernel (%s) %v", name, got[i], kerneltest.Release(), want[i])
		}
	}
}

// TestCoreObjectsUpToDate rebuilds testdata/core's C sources, when clang
// is installed, and checks that the committed objects hold the same
// programs (instructions) and maps.
func TestCoreObjectsUpToDate(t *testing.T) {
	sources, err := filepath.Glob("testdata/core/*.c")
	if err != nil {
		t.Fatal(err)
	}
	kerneltest.ObjectsUpToDate(t, sources...)
}
