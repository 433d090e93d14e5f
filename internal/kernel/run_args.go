package kernel

import (
	"fmt"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// PrepareArgs sets the run up once for many runs of a raw tracepoint
// program on n arguments on CPU slot cpu, as the probe hook makes them
// (waggle.ArgsRunner): Setup's work is done here, with zero arguments, and
// mem keeps the run's regions. Each run then writes its arguments into
// ArgsBuffer and runs the program; after it, End and Rearm make the run
// ready for the next (a run in which no helper ran, the program never
// having left compiled code, has nothing to end or rearm). It returns the
// program's r1 (r2 to r5 are 0). It fails for another program type, for
// more than MAX_BPF_FUNC_ARGS arguments, or for fewer than the program
// reads (RequireContext).
func (r *Run) PrepareArgs(mem *memory.Memory, cpu, n int) (uint64, error) {
	if r.kind != kindArgs {
		return 0, fmt.Errorf("%s programs do not take arguments", TypeName(r.typ))
	}
	mem.Reset()
	in := Input{Context: make([]byte, 8*n), CPU: cpu}
	r1, _, err := r.SetupRegs(mem, &in)
	if err != nil {
		return 0, err
	}
	r.argsRegions = len(mem.Regions)
	return r1, nil
}

// ArgsBuffer is where a run prepared by PrepareArgs reads its arguments:
// 8 bytes each, in the host's byte order.
func (r *Run) ArgsBuffer() []byte { return r.ctxBuf[:r.rawLen] }

// Rearm undoes, after a run prepared by PrepareArgs and its End, what the
// run may have left that End does not release: the regions helpers added
// to the memory (bpf_get_current_task's task_structs) and the per-run
// state that Setup resets and a raw tracepoint's helpers change.
func (r *Run) Rearm() {
	r.mem.Regions = r.mem.Regions[:r.argsRegions]
	r.taskAdded = false
	r.keyDepth = 0
	r.cookie = 0
}
