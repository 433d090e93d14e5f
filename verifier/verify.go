package verifier

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/isa"
)

// verifier is one verification.
type verifier struct {
	p    *Program
	opts Options
	// pool keeps the memory of states no longer needed, for clones.
	pool statePool
	prog *program
	maps []*Map // the program's maps, then the inner maps of maps of maps
	// template marks the inner maps: what a lookup in them gives depends
	// on the map the outer map holds at run time.
	template map[int32]bool
	// globals are the global functions by subprogram; globalQueue those
	// called and not yet verified.
	globals     map[int]*GlobalFunction
	globalQueue []int
	pt          *kernel.ProgramType
	ctx         *kernel.CtxDesc
	ret         *kernel.Range // the range of the program's return value, or nil
	strict      bool
	raw         bool // pt.RawPacket: r1 is a packet of r2 bytes
	lenID       uint32

	// changesPkt says, by subprogram, whether calling it may move the
	// packet (subprogChangesPacket); nil until a global call needs it.
	changesPkt []bool

	idGen uint32
	// frameSerial numbers the frames (frame.serial).
	frameSerial uint32
	cur         *state
	insn        int // the instruction being checked
	prevInsn    int // the instruction before it on the path, or -1
	histCur     int // the index of insn's entry in cur.hist, or -1

	pending  []pending
	explored [][]*visited
	// reached counts the paths that came to each prune point (visit).
	reached []int32
	// ptrTypes are the pointers that each load, store and atomic
	// accessed memory through, on the first path that reached it (see
	// savePtrType); typ regNotInit for none yet.
	ptrTypes []reg

	maxInsns         int
	processed        int
	jmps             int
	prevJmps         int
	prevInsns        int
	totalStates      int
	curStates        int
	peakStates       int
	maxStatesPerInsn int

	log        io.Writer
	level      int
	lastSource string
}

// pending is a branch to explore.
type pending struct {
	st   *state
	insn int
	prev int
}

// visited is a checkpoint at an instruction.
type visited struct {
	st        *state
	hit, miss int
}

// vErr is a rejection, before it is dressed as an *Error.
type vErr struct {
	idx    int // the instruction, -1 for the program as a whole
	reason string
	kernel string
	reg    int // the offending register, -1 for none
	regStr string
	path   []string
}

// Verify proves p safe, or returns an *Error saying which instruction
// could do what it may not on which path. The returned Stats are valid in
// both cases.
func Verify(p *Program, opts Options) (*Stats, error) {
	start := time.Now()
	v := newVerifier(p, opts)
	err := v.run()
	st := &Stats{
		InstructionsProcessed: v.processed,
		PeakStates:            v.peakStates,
		TotalStates:           v.totalStates,
		Duration:              time.Since(start),
	}
	if v.log != nil && v.level >= 1 {
		if err != nil {
			fmt.Fprintf(v.log, "%s\n", v.toError(err).Error())
		} else {
			fmt.Fprintf(v.log, "accepted\n")
		}
		fmt.Fprintf(v.log, "processed %d insns (limit %d) max_states_per_insn %d total_states %d peak_states %d\n",
			v.processed, v.maxInsns, v.maxStatesPerInsn, v.totalStates, v.peakStates)
		fmt.Fprintf(v.log, "verification time %d usec\n", st.Duration.Microseconds())
	}
	if err != nil {
		return st, v.toError(err)
	}
	st.ContextAccesses = v.contextAccesses()
	return st, nil
}

func newVerifier(p *Program, opts Options) *verifier {
	v := &verifier{p: p, opts: opts, strict: opts.Strict, maxInsns: opts.MaxInstructions}
	if v.maxInsns <= 0 {
		v.maxInsns = DefaultMaxInstructions
	}
	if opts.Log != nil && opts.LogLevel > 0 {
		v.log, v.level = opts.Log, opts.LogLevel
	}
	v.maps = append(v.maps, p.Maps...)
	return v
}

// mapIndex returns the index of m in v.maps, adding it.
func (v *verifier) mapIndex(m *Map) int32 {
	for i, x := range v.maps {
		if x == m {
			return int32(i)
		}
	}
	v.maps = append(v.maps, m)
	if v.template == nil {
		v.template = map[int32]bool{}
	}
	v.template[int32(len(v.maps)-1)] = true
	return int32(len(v.maps) - 1)
}

// catchPanics turns a panic of the verifier into a rejection; tests turn
// it off to see the panic.
var catchPanics = true

func (v *verifier) run() (err *vErr) {
	defer func() {
		if !catchPanics {
			return
		}
		if r := recover(); r != nil {
			// A bug of the verifier must not accept a program.
			err = &vErr{idx: v.insn, reg: -1, reason: fmt.Sprintf("internal error of the verifier: %v", r), kernel: "verifier bug"}
		}
	}()
	if p := v.p; p == nil {
		return &vErr{idx: -1, reg: -1, reason: "no program"}
	}
	pt, ok := kernel.ProgramTypeOf(v.p.Type)
	if !ok {
		return &vErr{idx: -1, reg: -1, reason: fmt.Sprintf("waggle cannot verify programs of type %s", progTypeName(v.p.Type)), kernel: "unknown program type"}
	}
	v.pt = pt
	ctx, ret, aerr := pt.ForAttach(v.p.AttachType)
	if aerr != nil {
		return &vErr{idx: -1, reg: -1, reason: aerr.Error(), kernel: "invalid expected attach type (EINVAL)"}
	}
	v.ctx, v.ret = ctx, ret
	v.raw = pt.RawPacket
	if e := v.checkMaps(); e != nil {
		return e
	}
	if e := v.analyze(); e != nil {
		if e.reg == 0 && e.regStr == "" {
			e.reg = -1
		}
		return e
	}
	v.explored = make([][]*visited, len(v.prog.insns))
	v.reached = make([]int32, len(v.prog.insns))
	v.ptrTypes = make([]reg, len(v.prog.insns))
	v.globals = map[int]*GlobalFunction{}
	for i := range v.p.GlobalFunctions {
		gf := &v.p.GlobalFunctions[i]
		if gf.Start <= 0 || gf.Start >= len(v.prog.insns) || len(gf.Args) > 5 {
			continue
		}
		if k := v.prog.subOf[gf.Start]; v.prog.subprogs[k].start == gf.Start {
			v.globals[k] = gf
		}
	}
	if e := v.explore(v.initialState(), 0); e != nil {
		return e
	}
	// The global functions the program calls, each on its own.
	done := map[int]bool{}
	for len(v.globalQueue) > 0 {
		k := v.globalQueue[0]
		v.globalQueue = v.globalQueue[1:]
		if done[k] {
			continue
		}
		done[k] = true
		if e := v.explore(v.globalState(k), v.prog.subprogs[k].start); e != nil {
			return e
		}
	}
	return v.checkStackDepth()
}

func progTypeName(t ebpf.ProgramType) string { return kernel.TypeName(t) }

// checkMaps refuses maps that the program type may not use, as the
// kernel's check_map_prog_compatibility.
func (v *verifier) checkMaps() *vErr {
	for _, m := range v.p.Maps {
		if m == nil {
			return &vErr{idx: -1, reg: -1, reason: "a map of the program is nil"}
		}
		if v.pt.Sleepable {
			switch m.Type {
			case ebpf.Hash, ebpf.LRUHash, ebpf.Array, ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash,
				ebpf.ArrayOfMaps, ebpf.HashOfMaps, ebpf.RingBuf, ebpf.Queue, ebpf.Stack:
			default:
				return &vErr{idx: -1, reg: -1, reason: fmt.Sprintf("map %s is a %s, and sleepable programs (syscall programs are) can use only arrays, hashes, ring buffers, queues and stacks", m.Name, m.Type),
					kernel: "Sleepable programs can only use array, hash, ringbuf and local storage maps"}
			}
		}
		if no := v.pt.NoSpinLock; m.HasSpinLock && no != nil {
			return &vErr{idx: -1, reg: -1, reason: fmt.Sprintf("map %s holds a bpf_spin_lock, which %s may not use", m.Name, no.Who), kernel: no.Kernel}
		}
		if v.pt.PreallocatedHashOnly && (m.Type == ebpf.Hash || m.Type == ebpf.PerCPUHash || m.Type == ebpf.HashOfMaps) && m.Flags&bpfFNoPrealloc != 0 {
			return &vErr{idx: -1, reg: -1, reason: fmt.Sprintf("map %s is a hash map without preallocation, which perf_event programs may not use", m.Name), kernel: "perf_event programs can only use preallocated hash map"}
		}
	}
	return nil
}

const (
	bpfFNoPrealloc  = 1 << 0
	bpfFRdonlyProg  = 1 << 7
	bpfFWronlyProg  = 1 << 8
	arrayType       = ebpf.Array
	maxPacketOff    = 0xffff
	maxVarOff       = 1 << 29
	maxVarSize      = 1 << 29
	callbackRetMax  = 1
	maxStackDepth   = stackSize
	stackRoundingTo = 32
)

// initialState is the state at the program's entry.
func (v *verifier) initialState() *state {
	st := &state{first: 0}
	f := &frame{callsite: -1, subprog: 0, serial: v.newSerial()}
	for i := range f.regs {
		f.regs[i] = reg{typ: regNotInit, aux: -1, origin: -1}
	}
	if v.raw {
		f.regs[1] = ptrReg(regPacket, -1)
		v.lenID = v.newID()
		l := unknownReg(-1)
		l.id = v.lenID
		f.regs[2] = l
	} else {
		f.regs[1] = ptrReg(regCtx, -1)
	}
	f.regs[10] = ptrReg(regStack, -1)
	st.frames = []*frame{f}
	return st
}

func (v *verifier) newID() uint32 {
	v.idGen++
	return v.idGen
}

// globalState is the state at the entry of a global function, with the
// arguments of its prototype.
func (v *verifier) globalState(k int) *state {
	gf := v.globals[k]
	st := &state{first: v.prog.subprogs[k].start}
	f := &frame{callsite: -1, subprog: k, serial: v.newSerial()}
	for i := range f.regs {
		f.regs[i] = notInit(-1)
	}
	for i, a := range gf.Args {
		var r reg
		switch a.Kind {
		case GlobalArgScalar:
			r = unknownReg(-1)
		case GlobalArgCtx:
			r = ptrReg(regCtx, -1)
		case GlobalArgMem:
			r = ptrReg(regMem, -1)
			r.size = int32(a.Size)
			if !a.NonNull {
				r.flags = flagMaybeNull
				r.id = v.newID()
			}
		}
		f.regs[i+1] = r
	}
	f.regs[10] = ptrReg(regStack, -1)
	st.frames = []*frame{f}
	st.addPath(fmt.Sprintf("global function %s (instruction %d) verified on its own, with the arguments of its prototype", gf.Name, gf.Start))
	return st
}

// explore follows every path from insn in state st.
func (v *verifier) explore(st *state, insn int) *vErr {
	v.cur = st
	v.pending = v.pending[:0]
	prev := -1
	for {
		v.processed++
		if v.processed > v.maxInsns {
			return &vErr{idx: insn, reg: -1,
				reason: fmt.Sprintf("the verifier gave up after processing %d instructions (Options.MaxInstructions) on the program's paths: it has too many paths, or a loop whose end the verifier cannot see (a loop bound it cannot prove)", v.maxInsns),
				kernel: fmt.Sprintf("BPF program is too large. Processed %d insn", v.processed)}
		}
		v.insn, v.prevInsn, v.histCur = insn, prev, -1
		if v.prog.prune[insn] {
			pruned, err := v.visit(insn)
			if err != nil {
				return err
			}
			if pruned {
				if v.level >= 2 {
					fmt.Fprintf(v.log, "%d: safe\n", insn)
				}
				v.pathDone(v.cur)
				v.pool.put(v.cur)
				var ok bool
				if insn, prev, ok = v.pop(); !ok {
					return nil
				}
				continue
			}
		}
		if prev >= 0 && prev != insn-1 {
			v.cur.hist = append(v.cur.hist, histEntry{idx: int32(insn), prev: int32(prev)})
			v.histCur = len(v.cur.hist) - 1
		}
		next, err := v.step(insn)
		if err != nil {
			return err
		}
		if v.level >= 2 {
			v.logInsn(insn)
		}
		if next < 0 {
			v.pathDone(v.cur)
			v.pool.put(v.cur)
			var ok bool
			if insn, prev, ok = v.pop(); !ok {
				return nil
			}
			continue
		}
		prev, insn = insn, next
	}
}

// push queues the exploration of st from insn (a branch not taken now).
func (v *verifier) push(st *state, insn, prev int) {
	if st.parent != nil {
		st.parent.branches++
	}
	v.pending = append(v.pending, pending{st: st, insn: insn, prev: prev})
	if len(v.pending) > 8192 {
		// The kernel's BPF_COMPLEXITY_LIMIT_JMP_SEQ.
		panic(errTooManyBranches)
	}
}

var errTooManyBranches = fmt.Errorf("more than 8192 branches are waiting to be explored")

// pop resumes the last queued branch.
func (v *verifier) pop() (insn, prev int, ok bool) {
	if len(v.pending) == 0 {
		return 0, 0, false
	}
	p := v.pending[len(v.pending)-1]
	v.pending = v.pending[:len(v.pending)-1]
	v.cur = p.st
	if v.level >= 2 {
		fmt.Fprintf(v.log, "\nfrom %d to %d: %s\n", p.prev, p.insn, v.stateString(v.cur))
	}
	return p.insn, p.prev, true
}

// pathDone ends the path of st: its checkpoints lose a branch, and those
// left with none are complete.
func (v *verifier) pathDone(st *state) {
	for p := st.parent; p != nil; p = p.parent {
		p.branches--
		if p.branches > 0 {
			break
		}
		if p.forgotten {
			v.releaseFrames(p)
		}
	}
}

// releaseFrames gives the frames of a forgotten checkpoint whose paths
// are all explored back to the pool. Nothing reads them any more: the
// checkpoint is in no list of checkpoints, and it is on the path of no
// state still explored (those have only checkpoints with branches left);
// its descendants' parent links and loop heads' lists keep only the state.
func (v *verifier) releaseFrames(s *state) {
	for i, f := range s.frames {
		v.pool.putFrame(f)
		s.frames[i] = nil
	}
	s.frames = nil
}

// visit compares the current state at a prune point with the states
// already explored there: it returns true when one of them covers it (the
// path needs no further exploration). Otherwise it may record the state as
// a checkpoint.
func (v *verifier) visit(insn int) (bool, *vErr) {
	cur := v.cur
	cb := v.isCallbackCall(insn)
	mg := v.prog.insns[insn].IsMayGoto()
	// Avoid accumulating a long history, as the kernel. A may_goto is
	// always a checkpoint (the kernel's force_checkpoint).
	force := cb || mg || len(cur.hist) > 40
	// The kernel's heuristic: a checkpoint after 2 jumps and 8
	// instructions since the last one of any path (kernelAdd; only where
	// it holds does a miss count). waggle also records one where a path
	// comes to a prune point that an earlier path reached and that holds
	// fewer than 2 checkpoints: denser checkpoints only add chances to
	// prune, and the kernel's counters, global to the verification, left
	// the later paths of a join with no checkpoint to meet.
	kernelAdd := force || v.jmps-v.prevJmps >= 2 && v.processed-v.prevInsns >= 8
	list := v.explored[insn]
	addNew := kernelAdd || v.reached[insn] > 0 && len(list) < 2
	v.reached[insn]++
	pruned := false
	var err *vErr
	// Newest first, as the kernel's list (new states go to its head).
	// An evicted checkpoint becomes nil, and the list is compacted after.
	evicted := false
	for k := len(list) - 1; k >= 0; k-- {
		e := list[k]
		if pruned || err != nil {
			continue
		}
		old := e.st
		if old.branches > 0 {
			// An ancestor of this path: the path looped back to it.
			if cb {
				// A callback's iterations converge: every scalar
				// compared by its range.
				if v.statesEqual(old, cur, insn, cmpRangeWithin) {
					e.hit++
					pruned = true
					v.markLoop(cur, old)
					continue
				}
			} else if mg && old.mayGotoDepth != cur.mayGotoDepth && v.statesEqual(old, cur, insn, cmpRangeWithin) {
				// A later iteration of a may_goto loop, covered by an
				// earlier one: the loop converges (the kernel's
				// iterator-like treatment of may_goto).
				e.hit++
				pruned = true
				v.markLoop(cur, old)
				continue
			} else if v.maybeLooping(old, cur) && old.cbDepth == cur.cbDepth && old.mayGotoDepth == cur.mayGotoDepth && v.statesEqual(old, cur, insn, cmpExact) {
				err = &vErr{idx: insn, reg: -1,
					reason: "infinite loop: the program comes back to this instruction in exactly the same state as before, so it would loop forever",
					kernel: fmt.Sprintf("infinite loop detected at insn %d", v.prog.slot[insn])}
				continue
			}
			if !force && v.jmps-v.prevJmps < 20 && v.processed-v.prevInsns < 100 {
				addNew, kernelAdd = false, false
			}
		} else if loops := old.openLoops(); v.statesEqual(old, cur, insn, cmpModeFor(loops)) {
			e.hit++
			if v.prevInsn >= 0 && v.prevInsn != insn-1 {
				// The jump that led here, which backtracking follows
				// (the kernel's push_jmp_history before
				// propagate_precision): without it, it would take the
				// instruction before insn for its predecessor.
				cur.hist = append(cur.hist, histEntry{idx: int32(insn), prev: int32(v.prevInsn)})
				v.histCur = len(cur.hist) - 1
			}
			v.propagateLiveness(old)
			v.markPreciseFrom(old, cur, len(loops) == 0)
			for _, a := range loops {
				v.markLoop(cur, a)
			}
			pruned = true
			continue
		}
		if kernelAdd {
			// As the kernel: a miss counts only where the path would
			// leave a checkpoint by the kernel's heuristic (otherwise
			// the iterations of a loop, which add none, would evict the
			// checkpoints that help; and the denser checkpoints, kept
			// at two or more, would evict one another).
			e.miss++
		}
		// Forget checkpoints that do not help: they stay alive as the
		// parents of their paths, but are no longer compared. As the
		// kernel, a loop's checkpoint at a may_goto or callback call
		// whose iterations are still explored may miss 64 times as
		// often (its later iterations converge to it); every other one
		// 3 times. Without eviction, a loop whose iterations never
		// converge made the list grow with every iteration and each
		// visit compare against all of it.
		n := 3
		if (cb || mg) && old.branches > 0 {
			n = 64
		}
		if e.miss > e.hit*n+n {
			v.curStates--
			list[k] = nil
			evicted = true
			old.forgotten = true
			if old.branches == 0 {
				v.releaseFrames(old)
			}
		}
	}
	kept := list
	if evicted {
		kept = list[:0]
		for _, e := range list {
			if e != nil {
				kept = append(kept, e)
			}
		}
		clear(list[len(kept):])
	}
	v.explored[insn] = kept
	if err != nil {
		return false, err
	}
	if pruned || !addNew {
		return pruned, nil
	}
	// Record a checkpoint.
	v.totalStates++
	v.curStates++
	v.peakStates = max(v.peakStates, v.curStates)
	// Ids that one register or slot holds alone are kept, as Linux 6.18
	// keeps them (its level-2 log shows checkpoints with ids no other
	// register or slot shares): a later copy (a move, a fill) links to
	// it, and a checkpoint and a path that had dropped different ones
	// would compare unequal.
	cp := v.pool.clone(cur)
	cp.insn = insn
	cp.last = v.prevInsn
	cp.branches = 1
	cp.parent = cur.parent
	cur.parent = cp
	for _, f := range cp.frames {
		f.read = 0
	}
	for _, f := range cur.frames {
		f.written = 0
	}
	cur.first = insn
	cur.hist = cur.hist[:0]
	v.prevJmps, v.prevInsns = v.jmps, v.processed
	v.explored[insn] = append(kept, &visited{st: cp})
	v.maxStatesPerInsn = max(v.maxStatesPerInsn, len(v.explored[insn]))
	return false, nil
}

// isCallbackCall reports whether insn calls a helper that calls a callback.
func (v *verifier) isCallbackCall(insn int) bool {
	return v.isCallbackCallIns(v.prog.insns[insn])
}

func (v *verifier) isCallbackCallIns(ins isa.Instruction) bool {
	if !ins.IsHelperCall() {
		return false
	}
	switch int32(ins.Imm) {
	case fnLoop, fnForEachMapElem:
		return true
	}
	return false
}

// maybeLooping is a quick test before comparing states exactly: the same
// calls and the same registers in the current frame.
func (v *verifier) maybeLooping(old, cur *state) bool {
	if len(old.frames) != len(cur.frames) {
		return false
	}
	for i := range old.frames {
		if old.frames[i].callsite != cur.frames[i].callsite {
			return false
		}
	}
	of, cf := old.cur(), cur.cur()
	for r := range of.regs {
		a, b := &of.regs[r], &cf.regs[r]
		if a.typ != b.typ || a.s != b.s || a.off != b.off {
			return false
		}
	}
	return true
}

// Comparison modes of statesEqual.
const (
	cmpRange       = iota // old covers cur: every value of cur that matters is a value of old
	cmpExact              // old and cur are the same
	cmpRangeWithin        // as cmpRange, with imprecise scalars compared too
)

// cmpModeFor is the comparison with a state whose path went through loops
// still being explored: their precision marks are not final, so every
// scalar must be covered.
func cmpModeFor(loops []*state) int {
	if len(loops) > 0 {
		return cmpRangeWithin
	}
	return cmpRange
}

// markLoop records, in the checkpoints of cur's path below the loop head
// a (an ancestor being explored), that their safety depends on a.
func (v *verifier) markLoop(cur, a *state) {
	for st := cur.parent; st != nil && st != a; st = st.parent {
		if !slices.Contains(st.loops, a) {
			st.loops = append(st.loops, a)
		}
	}
}

// idMap pairs the ids of an old state with those of a current one.
type idMap struct {
	pairs [32][2]uint32
	n     int
	more  [][2]uint32
	tmp   uint32
}

func (m *idMap) check(o, c uint32) bool {
	if (o == 0) != (c == 0) {
		return false
	}
	if o == 0 {
		return true
	}
	for i := 0; i < m.n; i++ {
		p := &m.pairs[i]
		if p[0] == o {
			return p[1] == c
		}
		if p[1] == c {
			return false
		}
	}
	for _, p := range m.more {
		if p[0] == o {
			return p[1] == c
		}
		if p[1] == c {
			return false
		}
	}
	if m.n < len(m.pairs) {
		m.pairs[m.n] = [2]uint32{o, c}
		m.n++
	} else {
		m.more = append(m.more, [2]uint32{o, c})
	}
	return true
}

// checkScalar is check for scalar ids, where 0 is a distinct id.
func (m *idMap) checkScalar(o, c uint32) bool {
	if o == 0 {
		m.tmp++
		o = 1<<31 | m.tmp
	}
	if c == 0 {
		m.tmp++
		c = 1<<31 | m.tmp
	}
	return m.check(o, c)
}

// statesEqual reports whether old (a checkpoint at insn) covers cur: any
// path from cur is a path old took, and was found safe.
func (v *verifier) statesEqual(old, cur *state, insn int, mode int) bool {
	if len(old.frames) != len(cur.frames) {
		return false
	}
	var ids idMap
	if old.lock.held != cur.lock.held {
		return false
	}
	if old.lock.held && (old.lock.aux != cur.lock.aux || old.lock.off != cur.lock.off || !ids.check(old.lock.id, cur.lock.id)) {
		return false
	}
	if len(old.refs) != len(cur.refs) {
		return false
	}
	for i := range old.refs {
		if !ids.check(old.refs[i].id, cur.refs[i].id) {
			return false
		}
	}
	for i := range old.frames {
		of, cf := old.frames[i], cur.frames[i]
		if of.callsite != cf.callsite || of.callback != cf.callback {
			return false
		}
		live := uint16(0xffff)
		if mode != cmpExact {
			if i == len(old.frames)-1 {
				live = v.prog.live[insn]
			} else {
				next := old.frames[i+1]
				if next.callback {
					live = v.prog.live[next.callsite]
				} else {
					live = v.prog.live[next.callsite+1] | (1<<6 | 1<<7 | 1<<8 | 1<<9)
					live &^= regsR0R5
				}
			}
		}
		for r := 0; r < 10; r++ {
			if live&(1<<r) == 0 {
				continue
			}
			if !v.regsafe(&of.regs[r], &cf.regs[r], &ids, mode) {
				return false
			}
		}
		if !v.stacksafe(of, cf, &ids, mode) {
			return false
		}
	}
	return true
}

// regsafe reports whether old covers cur.
func (v *verifier) regsafe(old, cur *reg, ids *idMap, mode int) bool {
	if mode == cmpExact {
		return v.regsExact(old, cur, ids)
	}
	if old.typ == regNotInit {
		// The explored path never read it.
		return true
	}
	if old.typ != cur.typ {
		return false
	}
	switch old.typ {
	case regScalar:
		if !old.precise && !v.strict && mode != cmpRangeWithin && (old.id == 0 || old.id != v.lenID) {
			// An imprecise scalar matches any scalar, whatever its id, as
			// the kernel's regsafe: the paths from old never needed its
			// bounds, nor those a comparison of it gives to the registers
			// and stack slots linked to it (a jump's linked registers are
			// made precise together: linkHistory). The length of a raw
			// packet keeps its id: a comparison of it bounds the packet.
			return true
		}
		return old.s.within(cur.s) && ids.checkScalar(old.id, cur.id) && old.off == cur.off &&
			old.flags&(flagAddConst|flagAddConst32) == cur.flags&(flagAddConst|flagAddConst32)
	case regPacket, regPacketMeta:
		if old.size > cur.size && !(old.size < 0 && cur.size < 0 && old.size == cur.size) {
			return false
		}
		if old.size < 0 && old.size != cur.size {
			return false
		}
		if old.off != cur.off || !ids.check(old.id, cur.id) {
			return false
		}
		return old.s.within(cur.s)
	case regStack:
		return old.frame == cur.frame && old.off == cur.off && old.s.within(cur.s) && ids.check(old.id, cur.id)
	case regMapValue, regMem, regMapKey, regCtx, regPacketEnd, regMapPtr, regFunc, regSock:
		if old.flags != cur.flags || old.off != cur.off || old.aux != cur.aux || old.size != cur.size {
			return false
		}
		return old.s.within(cur.s) && ids.check(old.id, cur.id) && ids.check(old.ref, cur.ref)
	}
	return false
}

func (v *verifier) regsExact(old, cur *reg, ids *idMap) bool {
	if old.typ != cur.typ || old.flags != cur.flags || old.off != cur.off || old.aux != cur.aux ||
		old.size != cur.size || old.frame != cur.frame || old.s != cur.s {
		return false
	}
	if old.typ == regScalar {
		return ids.checkScalar(old.id, cur.id)
	}
	return ids.check(old.id, cur.id) && ids.check(old.ref, cur.ref)
}

// stacksafe compares the stacks of two frames.
func (v *verifier) stacksafe(of, cf *frame, ids *idMap, mode int) bool {
	n := max(len(of.stack), len(cf.stack))
	var empty stackSlot
	for spi := 0; spi < n; spi++ {
		if mode == cmpRange && spi < 64 {
			// Dead in old: no path from it read the slot before
			// writing it whole (liveness.go). Skip to the next slot
			// read.
			rest := of.read >> spi
			if rest == 0 {
				spi = 63
				continue
			}
			spi += bits.TrailingZeros64(rest)
			if spi >= n {
				break
			}
		}
		os, cs := &empty, &empty
		if spi < len(of.stack) {
			os = &of.stack[spi]
		}
		if spi < len(cf.stack) {
			cs = &cf.stack[spi]
		}
		if mode != cmpExact && os.kind == cs.kind && (os.kind[0] != stSpill || sameWithoutIDs(&os.spill, &cs.spill)) {
			// The same bytes, and the same spilled register holding no
			// id: a slot covers itself (the comparisons below are
			// reflexive), and most slots of two paths are the same.
			continue
		}
		if mode == cmpExact {
			if os.kind != cs.kind {
				return false
			}
			if os.kind[0] == stSpill && !v.regsExact(&os.spill, &cs.spill, ids) {
				return false
			}
			continue
		}
		// Whole spilled scalars and slots of data compare as registers.
		or, ok1 := scalarForSlot(os)
		cr, ok2 := scalarForSlot(cs)
		if ok1 && !ok2 && !v.strict && spi < len(cf.stack) && miscOrInvalid(cs) {
			// Data and bytes never written, which a privileged program
			// may read as data: a load gives any number (the kernel's
			// is_stack_all_misc with allow_uninit_stack).
			cr, ok2 = unknownReg(-1), true
		}
		if ok1 && ok2 {
			if !v.regsafe(&or, &cr, ids, mode) {
				return false
			}
			continue
		}
		for b := 0; b < regSize; b++ {
			ok, ck := os.kind[b], cs.kind[b]
			if ok == stInvalid && !v.strict {
				continue
			}
			if ok == stMisc && !v.strict {
				continue
			}
			if ok == stInvalid {
				continue
			}
			if ok == stMisc && ck == stZero {
				continue
			}
			if ok != ck {
				return false
			}
		}
		if os.kind[0] == stSpill {
			if !v.regsafe(&os.spill, &cs.spill, ids, mode) {
				return false
			}
		}
	}
	return true
}

// sameWithoutIDs reports whether two registers are the same but for the
// instruction that made them, and hold no id nor reference (ids compare
// through the map of a comparison of states).
func sameWithoutIDs(a, b *reg) bool {
	if a.id != 0 || a.ref != 0 {
		return false
	}
	c := *a
	c.origin = b.origin
	return c == *b
}

// miscOrInvalid reports whether every byte of a slot is data or never
// written.
func miscOrInvalid(s *stackSlot) bool {
	for _, k := range s.kind {
		if k != stMisc && k != stInvalid {
			return false
		}
	}
	return true
}

// scalarForSlot returns the register a load of the slot gives, when it is
// a scalar: a spilled 8-byte scalar, or 8 bytes of data (unknown) or of
// zeros (zero, whatever part of the slot is loaded).
func scalarForSlot(s *stackSlot) (reg, bool) {
	if n, ok := s.spilled(); ok {
		if n == regSize && s.spill.typ == regScalar {
			return s.spill, true
		}
		return reg{}, false
	}
	zeros := 0
	for _, k := range s.kind {
		switch k {
		case stZero:
			zeros++
		case stMisc:
		default:
			return reg{}, false
		}
	}
	if zeros != 0 && zeros != regSize {
		// Some known zero bytes: a load of part of the slot may give a
		// known zero, so the bytes compare one by one.
		return reg{}, false
	}
	if zeros == regSize {
		r := constReg(0, -1)
		r.precise = true
		return r, true
	}
	return unknownReg(-1), true
}

// checkStackDepth checks the combined stack of every chain of calls, as the
// kernel's check_max_stack_depth, after the paths are explored: at most
// 512 bytes together (each function's stack rounded up to 16 bytes, as
// with the JIT), and less than 256 bytes in the callers of a function that
// makes a tail call.
func (v *verifier) checkStackDepth() *vErr {
	p := v.prog
	tail := make([]bool, len(p.subprogs))
	for i, ins := range p.insns {
		if ins.IsHelperCall() && int32(ins.Imm) == fnTailCall {
			tail[p.subOf[i]] = true
		}
	}
	onChain := make([]bool, len(p.subprogs))
	var walk func(k, depth, frames, from int) *vErr
	walk = func(k, depth, frames, from int) *vErr {
		sp := p.subprogs[k]
		if k != 0 && tail[k] && depth >= 256 {
			return &vErr{idx: from, reg: -1,
				reason: fmt.Sprintf("the function at instruction %d makes a tail call, and its callers' stack frames use %d bytes together: the kernel allows less than 256 bytes with tail calls", sp.start, depth),
				kernel: fmt.Sprintf("tail_calls are not allowed when call stack of previous frames is %d bytes. Too large", depth)}
		}
		depth += roundUp(sp.stack, 16)
		if depth > maxStackDepth {
			return &vErr{idx: from, reg: -1,
				reason: fmt.Sprintf("%d functions calling each other use %d bytes of stack together (each frame rounded up to 16 bytes), more than the 512 bytes the kernel allows", frames, depth),
				kernel: fmt.Sprintf("combined stack size of %d calls is %d. Too large", frames, depth)}
		}
		onChain[k] = true
		defer func() { onChain[k] = false }()
		for i := sp.start; i < sp.end; i++ {
			ins := p.insns[i]
			if !ins.IsLocalCall() && !(ins.IsLdDW() && uint8(ins.Src) == isa.PseudoFunc) {
				continue
			}
			c := p.subOf[p.target(i)]
			if onChain[c] {
				if ins.IsLocalCall() {
					return &vErr{idx: i, reg: -1, reason: "the function calls itself (through this call): recursion is not allowed",
						kernel: fmt.Sprintf("recursive call from insn %d to %d", p.slot[i], p.slot[p.subprogs[c].start])}
				}
				continue
			}
			if err := walk(c, depth, frames+1, i); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(0, 0, 1, -1)
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// mark precision helpers are in precision.go.

// toError dresses a rejection.
func (v *verifier) toError(e *vErr) *Error {
	out := &Error{Index: e.idx, Slot: -1, Reason: e.reason, KernelMessage: e.kernel, Register: e.regStr, Path: e.path}
	if e.idx >= 0 && v.prog != nil && e.idx < len(v.prog.insns) {
		out.Slot = v.prog.slot[e.idx]
		out.Instruction = v.prog.insns[e.idx]
		if v.p.Source != nil {
			out.Source = v.p.Source(e.idx)
		}
	} else if e.idx >= 0 && e.idx < len(v.p.Instructions) {
		out.Instruction = v.p.Instructions[e.idx]
	}
	return out
}

// errf builds a rejection at the current instruction; reg is the
// offending register or -1.
func (v *verifier) errf(reg int, kernelMsg string, format string, args ...any) *vErr {
	e := &vErr{idx: v.insn, reg: reg, reason: fmt.Sprintf(format, args...), kernel: kernelMsg}
	if v.cur != nil {
		if reg >= 0 && reg <= 10 {
			e.regStr = v.describeReg(isa.Register(reg), &v.cur.cur().regs[reg])
		}
		e.path = v.cur.pathList(40)
	}
	return e
}

var _ = math.MaxInt64
