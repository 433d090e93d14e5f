package verifier

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/isa"
)

func (v *verifier) checkCall(insn int, ins isa.Instruction) (int, *vErr) {
	if ins.IsLocalCall() {
		return v.localCall(insn, ins)
	}
	return v.helperCall(insn, ins)
}

// callMeta collects what the arguments of a helper call say.
type callMeta struct {
	mapIdx    int32 // the map argument, or -1
	mapReg    int
	memReg    int // the pending memory argument, or -1
	memKind   helper.ArgKind
	alloc     int64
	hasAlloc  bool
	fn        int32 // the function argument's subprogram, or -1
	release   uint32
	lockReg   int
	sizeMax   uint64
	stackArgs []int // stack pointer arguments of unknown helpers
	// writes lists the memory the helper writes: stack bytes become data.
	writes []memWrite
	// constKey is the key of a map argument when it is a known constant
	// on the stack, or -1.
	constKey int64
}

type memWrite struct {
	ptr  reg
	size uint64
}

func (v *verifier) helperCall(insn int, ins isa.Instruction) (int, *vErr) {
	id := int32(ins.Imm)
	pr := v.protoFor(id)
	_, userHelper := v.p.Helpers[id]
	if pr == nil {
		name := helper.Name(id)
		if strings.HasPrefix(name, "helper#") || id > 211 {
			return -1, v.errf(-1, fmt.Sprintf("invalid func unknown#%d", id),
				"helper %d is neither a kernel helper waggle implements nor one of Program.Helpers", id)
		}
		return -1, v.errf(-1, fmt.Sprintf("program of this type cannot use helper %s#%d", name, id),
			"%s (helper %d) is not available: waggle does not implement it", name, id)
	}
	if pr.MightSleep && !userHelper && !v.pt.Sleepable {
		// The kernel gives every program type the prototype and then
		// refuses the call in a program that is not sleepable.
		return -1, v.errf(-1, "helper call might sleep in a non-sleepable prog",
			"%s (helper %d) may sleep (it waits for the user memory to be paged in), and %s programs are not sleepable: only syscall programs are, of waggle's program types",
			pr.name, id, progTypeName(v.p.Type))
	}
	if !userHelper {
		if _, allowed := kernel.HelperAllowed(v.p.Type, id); !allowed {
			return -1, v.errf(-1, fmt.Sprintf("program of this type cannot use helper %s#%d", pr.name, id),
				"%s programs may not call %s (helper %d)%s", progTypeName(v.p.Type), pr.name, id, allowedTypesNote(id))
		}
	}
	if v.strict && !userHelper && privileged[id] {
		return -1, v.errf(-1, fmt.Sprintf("program of this type cannot use helper %s#%d", pr.name, id),
			"%s needs CAP_BPF or CAP_PERFMON: unprivileged programs may not call it", pr.name)
	}
	st := v.cur
	if st.lock.held && id != fnSpinUnlock {
		return -1, v.errf(-1, "function calls are not allowed while holding a lock",
			"%s is called while the bpf_spin_lock taken at instruction %d is held: only bpf_spin_unlock may be called in the locked region", pr.name, st.lock.insn)
	}
	meta := callMeta{mapIdx: -1, memReg: -1, fn: -1, lockReg: -1, constKey: -1}
	if pr.Args == nil {
		// Unknown prototype: every argument register must be initialised.
		for r := isa.R1; r <= isa.R5; r++ {
			a, err := v.readReg(r)
			if err != nil {
				return -1, err
			}
			if a.typ == regStack {
				meta.stackArgs = append(meta.stackArgs, int(r))
			}
			if a.maybeNull() && v.strict {
				return -1, v.errf(int(r), fmt.Sprintf("R%d leaks addr into helper function", r), "unprivileged programs may not pass pointers to helpers of unknown prototype")
			}
		}
	}
	for i, kind := range pr.Args {
		if err := v.checkArg(pr, i+1, kind, &meta); err != nil {
			err.reason += " (the prototype is " + pr.Signature(pr.name) + ")"
			return -1, err
		}
	}
	if meta.memReg >= 0 {
		return -1, v.errf(meta.memReg, "verifier misconfigured", "the prototype of %s has a memory argument without a size", pr.name)
	}
	if meta.mapIdx >= 0 {
		m := v.maps[meta.mapIdx]
		if msg := mapFuncCompat(m, v.p.Helpers, id, pr); msg != "" {
			kmsg := fmt.Sprintf("cannot pass map_type %d into func %s#%d", int(m.Type), pr.name, id)
			if id == fnTailCall {
				kmsg = "expected prog array map for tail call"
			}
			return -1, v.errf(meta.mapReg, kmsg, "%s", msg)
		}
	}
	if id == fnTailCall {
		if len(st.refs) > 0 {
			r := st.refs[0]
			return -1, v.errf(-1, "tail_call would lead to reference leak",
				"bpf_tail_call ends the program when it succeeds, and the %s acquired at instruction %d would never be released", r.kind, r.insn)
		}
	}
	// A callback: explore the callback from here, with the state before
	// the call; this path goes on as if it was called zero times.
	if pr.callback != cbNone {
		if err := v.pushCallback(insn, pr, &meta); err != nil {
			return -1, err
		}
	}
	// Effects.
	if meta.release != 0 {
		v.releaseRef(meta.release)
	}
	for _, w := range meta.writes {
		v.helperWrote(w)
	}
	if pr.Args == nil && len(meta.stackArgs) > 0 {
		// A helper of unknown prototype may write any stack it can reach.
		for _, f := range v.cur.frames {
			for i := range f.stack {
				s := &f.stack[i]
				s.scrub()
				for b := range s.kind {
					s.kind[b] = stMisc
				}
			}
		}
	}
	regs := v.regs()
	for r := isa.R1; r <= isa.R5; r++ {
		regs[r] = notInit(insn)
	}
	var r0 reg
	switch pr.Ret {
	case helper.RetVoid:
		r0 = notInit(insn)
	case helper.RetMapValueOrNull:
		r0 = ptrReg(regMapValue, insn)
		r0.aux = meta.mapIdx
		r0.flags = flagMaybeNull
		r0.id = v.newID()
		// A lookup in an array with a constant key below max_entries
		// cannot fail, as the kernel knows since Linux 6.13.
		if id == mapLookupElem && meta.constKey >= 0 && meta.constKey < int64(v.maps[meta.mapIdx].MaxEntries) {
			r0.flags = 0
			r0.id = 0
			if v.maps[meta.mapIdx].HasSpinLock {
				r0.id = v.newID()
			}
		}
	case helper.RetSockOrNull, helper.RetSockCommonOrNull:
		r0 = ptrReg(regSock, insn)
		r0.flags = flagMaybeNull
		if pr.Ret == helper.RetSockOrNull {
			r0.flags |= flagFullSock
		}
		r0.id = v.newID()
		r0.ref = r0.id
		st.refs = append(st.refs, refState{id: r0.id, insn: insn, kind: "socket"})
	case helper.RetRingbufRecordOrNull:
		r0 = ptrReg(regMem, insn)
		r0.flags = flagMaybeNull | flagRingbuf
		r0.size = int32(meta.alloc)
		r0.id = v.newID()
		r0.ref = r0.id
		st.refs = append(st.refs, refState{id: r0.id, insn: insn, kind: "ring buffer record"})
	default:
		r0 = unknownReg(insn)
		switch id {
		case fnGetSmpID:
			if v.opts.CPUs > 0 {
				r0.s = rangeScalar(0, uint64(v.opts.CPUs-1))
			}
		case int32(probeReadStr), int32(probeReadUserStr), int32(probeReadKernelStr):
			r0.s = signedRangeScalar(-4095, int64(min(meta.sizeMax, math.MaxInt32)))
		}
	}
	regs[0] = r0
	// A tail call from a subprogram returns to its caller after the
	// program it called ran, which may have moved the packet (Linux 6.18;
	// from the main program, a tail call that succeeds does not return).
	if pr.ChangesPacket || (id == fnTailCall && len(st.frames) > 1) {
		v.clearPacketPointers()
	}
	return insn + 1, nil
}

// argName names argument regno of a helper or function for messages:
// "argument 2 of bpf_map_lookup_elem (r2)".
func argName(regno int, fn string) string {
	return "argument " + itoa(regno) + " of " + fn + " (r" + itoa(regno) + ")"
}

// allowedTypesNote lists the program types that may call a helper.
func allowedTypesNote(id int32) string {
	ts := kernel.HelperTypes(id)
	if len(ts) == 0 {
		return ""
	}
	s := " (it is available to "
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += progTypeName(t)
	}
	return s + ")"
}

// checkArg checks argument regno against its kind.
func (v *verifier) checkArg(pr *proto, regno int, kind helper.ArgKind, meta *callMeta) *vErr {
	r := isa.Register(regno)
	a, err := v.readReg(r)
	if err != nil {
		return err
	}
	argN := argName(regno, pr.name)
	switch kind {
	case helper.ArgAnything:
		if v.strict && a.isPtr() {
			return v.errf(regno, fmt.Sprintf("R%d leaks addr into helper function", regno),
				"%s takes a number, and unprivileged programs may not pass it a pointer (%s)", argN, v.typeWords(a))
		}
	case helper.ArgMap:
		if a.typ != regMapPtr || a.maybeNull() {
			return v.errf(regno, fmt.Sprintf("R%d type=%s expected=map_ptr", regno, v.kernelType(a)),
				"%s must be a map (lddw of a map), and it holds %s%s", argN, v.typeWords(a), v.originNote(a))
		}
		meta.mapIdx, meta.mapReg = a.aux, regno
	case helper.ArgMapKey, helper.ArgMapValue, helper.ArgUninitMapValue:
		if meta.mapIdx < 0 {
			return v.errf(regno, "invalid map_ptr to access map->key", "%s needs the map argument before it", argN)
		}
		m := v.maps[meta.mapIdx]
		size, what := uint64(m.KeySize), "key"
		if kind != helper.ArgMapKey {
			size, what = uint64(m.ValueSize), "value"
		}
		write := kind == helper.ArgUninitMapValue
		if size == 0 {
			return v.errf(regno, "invalid zero-sized read", "%s is the map's %s, and map %s has %s of 0 bytes", argN, what, m.Name, what+"s")
		}
		if a.isNull() || a.typ == regScalar {
			return v.errf(regno, fmt.Sprintf("R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", regno, v.kernelType(a)),
				"%s must point to the map's %s (%d bytes), and it holds %s", argN, what, size, v.typeWords(a))
		}
		if err := v.helperMem(regno, a, size, write, write, false, argN, meta); err != nil {
			return err
		}
		if kind == helper.ArgMapKey && (m.Type == ebpf.Array || m.Type == ebpf.PerCPUArray) && !v.template[meta.mapIdx] {
			meta.constKey = v.constMapKey(a, m.KeySize)
		}
	case helper.ArgMem, helper.ArgMemOrNull, helper.ArgUninitMem, helper.ArgWritableMemOrNull:
		meta.memReg, meta.memKind = regno, kind
	case helper.ArgSize, helper.ArgSizeOrZero:
		return v.checkSizeArg(pr, regno, kind == helper.ArgSizeOrZero, a, meta)
	case helper.ArgAllocSize:
		if !a.isConst() {
			return v.errf(regno, fmt.Sprintf("R%d is not a known constant'", regno),
				"%s is the size of the record to reserve and must be a constant, and it is %s", argN, v.valueWords(a))
		}
		meta.alloc, meta.hasAlloc = int64(a.constVal()), true
		v.markPrecise(regno)
	case helper.ArgCtx, helper.ArgCtxOrNull:
		if kind == helper.ArgCtxOrNull && a.isNull() {
			break
		}
		if a.typ != regCtx {
			return v.errf(regno, fmt.Sprintf("R%d type=%s expected=ctx", regno, v.kernelType(a)),
				"%s must be the program's context (r1 at the start), and it holds %s", argN, v.typeWords(a))
		}
		if a.off != 0 || a.hasVarOff() {
			return v.errf(regno, fmt.Sprintf("dereference of modified ctx ptr R%d off=%d disallowed", regno, a.off),
				"%s must be the context pointer itself, not an offset into it", argN)
		}
	case helper.ArgStackOrNull:
		if !(a.typ == regStack || a.isNull()) {
			return v.errf(regno, fmt.Sprintf("R%d type=%s expected=fp", regno, v.kernelType(a)),
				"%s must point to the stack (the callback's context) or be NULL, and it holds %s", argN, v.typeWords(a))
		}
	case helper.ArgFunc:
		if a.typ != regFunc {
			return v.errf(regno, fmt.Sprintf("R%d type=%s expected=func", regno, v.kernelType(a)),
				"%s must be a function of the program (lddw of a function), and it holds %s", argN, v.typeWords(a))
		}
		meta.fn = a.aux
	case helper.ArgConstString:
		return v.checkConstString(regno, a, argN)
	case helper.ArgSpinLock:
		return v.checkSpinLock(pr, regno, a, argN)
	case helper.ArgRingbufRecord:
		if a.typ != regMem || a.flags&flagRingbuf == 0 || a.maybeNull() {
			msg := fmt.Sprintf("R%d type=%s expected=ringbuf_mem", regno, v.kernelType(a))
			why := fmt.Sprintf("%s must be a record from bpf_ringbuf_reserve, and it holds %s", argN, v.typeWords(a))
			if a.maybeNull() && a.typ == regMem {
				why = fmt.Sprintf("%s may be NULL here%s: test it against 0 before submitting or discarding it", argN, v.originNote(a))
			}
			return v.errf(regno, msg, "%s", why)
		}
		if a.off != 0 || a.hasVarOff() {
			return v.errf(regno, fmt.Sprintf("R%d must have zero offset when passed to release func or trusted arg to kfunc", regno),
				"%s must be the record's pointer as bpf_ringbuf_reserve returned it, not an offset into it", argN)
		}
		if !slices.ContainsFunc(v.cur.refs, func(r refState) bool { return r.id == a.ref }) {
			return v.errf(regno, "reference has not been acquired before", "the record was already submitted or discarded")
		}
		meta.release = a.ref
	case helper.ArgSock, helper.ArgSockRelease:
		if a.typ != regSock || a.maybeNull() {
			msg := fmt.Sprintf("R%d type=%s expected=sock_common, sock, tcp_sock, xdp_sock, ptr_", regno, v.kernelType(a))
			why := fmt.Sprintf("%s must be a socket, and it holds %s", argN, v.typeWords(a))
			if a.maybeNull() && a.typ == regSock {
				why = fmt.Sprintf("%s may be NULL here%s: test it against 0 first", argN, v.originNote(a))
			}
			return v.errf(regno, msg, "%s", why)
		}
		if a.off != 0 || a.hasVarOff() {
			return v.errf(regno, fmt.Sprintf("R%d must have zero offset when passed to release func or trusted arg to kfunc", regno),
				"%s must be the socket pointer itself, not an offset into the socket", argN)
		}
		if kind == helper.ArgSockRelease {
			if a.ref == 0 {
				return v.errf(regno, fmt.Sprintf("R%d must be referenced when passed to release function", regno),
					"%s must be a socket that bpf_sk_lookup_*/bpf_skc_lookup_tcp returned, and %s was not acquired", argN, v.typeWords(a))
			}
			if !slices.ContainsFunc(v.cur.refs, func(r refState) bool { return r.id == a.ref }) {
				return v.errf(regno, "reference has not been acquired before", "the socket was already released")
			}
			meta.release = a.ref
		}
	default:
		return v.errf(regno, "unsupported arg type", "unsupported argument kind %d", kind)
	}
	return nil
}

// checkSizeArg checks a size and the memory argument before it.
func (v *verifier) checkSizeArg(pr *proto, regno int, zeroOK bool, a *reg, meta *callMeta) *vErr {
	argN := argName(regno, pr.name)
	if meta.memReg != regno-1 {
		return v.errf(regno, "verifier misconfigured", "%s is a size without memory before it", argN)
	}
	memReg := meta.memReg
	kind := meta.memKind
	meta.memReg = -1
	if a.typ != regScalar {
		return v.errf(regno, fmt.Sprintf("R%d type=%s expected=scalar", regno, v.kernelType(a)),
			"%s is a size, and it holds %s", argN, v.typeWords(a))
	}
	if a.s.smin < 0 {
		return v.errf(regno, fmt.Sprintf("R%d min value is negative, either use unsigned or 'var &= const'", regno),
			"%s is a size that may be negative (%s): use an unsigned type, or bound it", argN, v.valueWords(a))
	}
	if a.s.umin == 0 && !zeroOK {
		return v.errf(regno, fmt.Sprintf("R%d invalid zero-sized read: u64=[%d,%d]", regno, a.s.umin, a.s.umax),
			"%s is a size that may be 0 (%s), and %s needs at least 1 byte", argN, v.valueWords(a), pr.name)
	}
	if a.s.umax >= maxVarSize {
		return v.errf(regno, fmt.Sprintf("R%d unbounded memory access, use 'var &= const' or 'if (var < const)'", regno),
			"%s is a size without a usable upper bound (%s): bound it (if (n < N), or n &= MASK)", argN, v.valueWords(a))
	}
	meta.sizeMax = a.s.umax
	v.markPrecise(regno)
	ptr := &v.regs()[memReg]
	write := kind == helper.ArgUninitMem || kind == helper.ArgWritableMemOrNull
	uninit := kind == helper.ArgUninitMem && a.s.isConst()
	memN := argName(memReg, pr.name)
	if ptr.isNull() {
		if kind != helper.ArgMemOrNull && kind != helper.ArgWritableMemOrNull {
			// As the kernel's check_reg_type: NULL is refused for memory
			// that may not be NULL, whatever the size (even 0).
			return v.errf(memReg, fmt.Sprintf("R%d type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", memReg),
				"%s is NULL, and %s takes no NULL there, not even with a size of 0: pass memory (the stack, a map value, ...)", memN, pr.name)
		}
		if a.s.umax != 0 {
			// As the kernel's check_helper_mem_access: NULL is memory of
			// no bytes, so its size must be 0 on every path.
			return v.errf(memReg, fmt.Sprintf("R%d type=scalar expected=fp", memReg),
				"%s is NULL, so %s must be 0, and it may be %d (%s): pass memory, or a size of 0", memN, argN, a.s.umax, v.valueWords(a))
		}
		return nil
	}
	return v.helperMem(memReg, ptr, a.s.umax, write, uninit, zeroOK, memN, meta)
}

// constMapKey returns the key a stack pointer points to when it is a
// known constant (zero bytes, or a spilled constant of the key's size), or
// -1, as the kernel's get_constant_map_key.
func (v *verifier) constMapKey(p *reg, keySize uint32) int64 {
	if v.strict || p.typ != regStack || !p.s.isConst() {
		return -1
	}
	addr := int64(p.off) + int64(p.s.t.v)
	if addr >= 0 || addr < -stackSize {
		return -1
	}
	fr := v.cur.frames[p.frame]
	spi, b := slotOf(int(addr))
	if spi >= len(fr.stack) {
		return -1
	}
	v.markStackRead(int(p.frame), spi)
	s := &fr.stack[spi]
	zeros := 0
	for i := b; i < regSize && s.kind[i] == stZero; i++ {
		zeros++
	}
	if zeros >= int(keySize) {
		return 0
	}
	if _, ok := s.spilled(); !ok || s.spill.typ != regScalar {
		return -1
	}
	spills := 0
	for i := b; i < regSize && s.kind[i] == stSpill; i++ {
		spills++
	}
	if spills != int(keySize) || !s.spill.s.isConst() {
		return -1
	}
	v.markPreciseSlot(int(p.frame), spi)
	return int64(s.spill.s.t.v)
}

// helperMem checks that a helper may access size bytes at ptr: read them
// (they must be initialised, unless uninit) or write them.
func (v *verifier) helperMem(regno int, ptr *reg, size uint64, write, uninit, zeroOK bool, argN string, meta *callMeta) *vErr {
	if ptr.maybeNull() {
		return v.errf(regno, fmt.Sprintf("R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", regno, v.kernelType(ptr)),
			"%s may be NULL here%s: test it against 0 first", argN, v.originNote(ptr))
	}
	if size == 0 {
		if ptr.isNull() || ptr.isPtr() {
			return nil
		}
	}
	switch ptr.typ {
	case regStack:
		return v.helperStack(regno, ptr, int64(size), write, uninit, argN, meta)
	case regPacket, regPacketMeta:
		if write && !v.mayWritePacket() {
			return v.errf(regno, "cannot write into packet", "%s programs may not write into the packet", progTypeName(v.p.Type))
		}
		_, err := v.packetAccess(regno, ptr, 0, int(size), access{})
		return err
	case regMapValue:
		_, err := v.mapValueAccess(regno, ptr, 0, int(size), access{write: write, value: &reg{}})
		return err
	case regMapKey:
		if write {
			return v.errf(regno, fmt.Sprintf("R%d cannot write into map_key", regno), "the key of a map element is read-only")
		}
		m := v.maps[ptr.aux]
		_, err := v.regionAccess(regno, ptr, 0, int(size), int64(m.KeySize), func() (string, string) {
			return "map key", fmt.Sprintf("invalid access to map key, key_size=%d off=%d size=%d", m.KeySize, ptr.off, size)
		})
		return err
	case regMem:
		if write && ptr.flags&flagRdonly != 0 {
			return v.errf(regno, fmt.Sprintf("R%d cannot write into %s", regno, v.kernelType(ptr)), "%s points to read-only memory", argN)
		}
		_, err := v.regionAccess(regno, ptr, 0, int(size), int64(ptr.size), func() (string, string) {
			return "memory", fmt.Sprintf("invalid access to memory, mem_size=%d off=%d size=%d", ptr.size, ptr.off, size)
		})
		return err
	}
	return v.errf(regno, fmt.Sprintf("R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_", regno, v.kernelType(ptr)),
		"%s must point to memory (the stack, the packet, a map value, a record), and it holds %s", argN, v.typeWords(ptr))
}

// helperStack checks a helper's access to the stack.
func (v *verifier) helperStack(regno int, ptr *reg, size int64, write, uninit bool, argN string, meta *callMeta) *vErr {
	fr := v.cur.frames[ptr.frame]
	fixed := int64(ptr.off)
	var lo, hi int64
	if ptr.s.isConst() {
		lo = fixed + int64(ptr.s.t.v)
		hi = lo + size
	} else {
		if v.strict {
			return v.errf(regno, fmt.Sprintf("R%d variable offset stack access prohibited for !root", regno),
				"unprivileged programs may not pass a stack pointer with a variable offset to helpers")
		}
		if ptr.s.smax >= maxVarOff || ptr.s.smin <= -maxVarOff {
			return v.errf(regno, fmt.Sprintf("invalid unbounded variable-offset indirect access to stack R%d", regno), "the stack pointer's variable offset is unbounded")
		}
		lo = fixed + ptr.s.smin
		hi = fixed + ptr.s.smax + size
	}
	if lo < -stackSize || hi > 0 || size < 0 {
		rw := "read from"
		if write {
			rw = "write to"
		}
		if ptr.s.isConst() {
			return v.errf(regno, fmt.Sprintf("invalid %s stack R%d off=%d size=%d", rw, regno, lo, size),
				"%s covers fp%+d to fp%+d, outside the stack frame (fp-512 to fp-1)", argN, lo, hi-1)
		}
		return v.errf(regno, fmt.Sprintf("invalid variable-offset %s stack R%d var_off=%s off=%d size=%d", rw, regno, ptr.s.t, fixed, size),
			"%s covers fp%+d to fp%+d, outside the stack frame (fp-512 to fp-1)", argN, lo, hi-1)
	}
	sp := &v.prog.subprogs[fr.subprog]
	sp.stack = max(sp.stack, int(-lo))
	if !uninit {
		v.markStackReadRange(int(ptr.frame), lo, hi)
		for off := lo; off < hi; off++ {
			spi, b := slotOf(int(off))
			var s stackSlot
			if spi < len(fr.stack) {
				s = fr.stack[spi]
			}
			switch s.kind[b] {
			case stMisc, stZero:
			case stSpill:
				if v.strict && s.spill.typ != regScalar {
					return v.errf(regno, fmt.Sprintf("invalid indirect read from stack R%d off %d+%d size %d", regno, lo, off-lo, size),
						"%s reads a spilled pointer at fp%+d", argN, off)
				}
			default:
				if v.strict {
					return v.errf(regno, fmt.Sprintf("invalid indirect read from stack R%d off %d+%d size %d", regno, lo, off-lo, size),
						"%s reads %d bytes at fp%+d, and byte fp%+d was never written on this path: initialise the memory first", argN, size, lo, off)
				}
			}
		}
	}
	if write {
		meta.writes = append(meta.writes, memWrite{ptr: *ptr, size: uint64(size)})
	}
	return nil
}

// helperWrote applies a helper's write to memory.
func (v *verifier) helperWrote(w memWrite) {
	if w.ptr.typ != regStack {
		return
	}
	fr := v.cur.frames[w.ptr.frame]
	lo := int64(w.ptr.off) + w.ptr.s.smin
	hi := int64(w.ptr.off) + w.ptr.s.smax + int64(w.size)
	if w.ptr.s.isConst() {
		lo = int64(w.ptr.off) + int64(w.ptr.s.t.v)
		hi = lo + int64(w.size)
	}
	for off := lo; off < hi; off++ {
		spi, b := slotOf(int(off))
		s := fr.slot(spi)
		if s.hasSpillBytes() {
			s.scrub()
		}
		s.kind[b] = stMisc
	}
}

// checkConstString checks a pointer to a constant string.
func (v *verifier) checkConstString(regno int, a *reg, argN string) *vErr {
	if a.typ != regMapValue || a.maybeNull() {
		return v.errf(regno, fmt.Sprintf("R%d type=%s expected=map_value", regno, v.kernelType(a)),
			"%s must point to a constant string in read-only data (.rodata), and it holds %s", argN, v.typeWords(a))
	}
	m := v.maps[a.aux]
	if m.Flags&bpfFRdonlyProg == 0 || m.Value == nil {
		return v.errf(regno, fmt.Sprintf("R%d does not point to a readonly map'", regno),
			"%s must point into a frozen read-only map (.rodata), and map %s is not one", argN, m.Name)
	}
	if !a.s.isConst() {
		return v.errf(regno, fmt.Sprintf("R%d is not a constant address'", regno), "%s must point to a fixed offset of the map value", argN)
	}
	off := int64(a.off) + int64(a.s.t.v)
	if off < 0 || off >= int64(len(m.Value)) {
		return v.errf(regno, fmt.Sprintf("invalid access to map value, value_size=%d off=%d size=%d", m.ValueSize, off, int64(m.ValueSize)-off),
			"%s points outside map %s's value", argN, m.Name)
	}
	if bytes.IndexByte(m.Value[off:], 0) < 0 {
		return v.errf(regno, "string is not zero-terminated", "the string %s points to has no terminating NUL within map %s's value", argN, m.Name)
	}
	return nil
}

// checkSpinLock handles bpf_spin_lock and bpf_spin_unlock.
func (v *verifier) checkSpinLock(pr *proto, regno int, a *reg, argN string) *vErr {
	lock := pr.name == "bpf_spin_lock"
	if a.typ != regMapValue || a.maybeNull() {
		return v.errf(regno, fmt.Sprintf("R%d type=%s expected=map_value", regno, v.kernelType(a)),
			"%s must point to the struct bpf_spin_lock in a map value, and it holds %s%s", argN, v.typeWords(a), v.originNote(a))
	}
	if !a.s.isConst() {
		return v.errf(regno, fmt.Sprintf("R%d doesn't have constant offset. bpf_spin_lock has to be at the constant offset", regno),
			"%s must point to the lock at a fixed offset", argN)
	}
	m := v.maps[a.aux]
	if !m.HasSpinLock {
		return v.errf(regno, fmt.Sprintf("map '%s' has no valid bpf_spin_lock", m.Name), "the values of map %s hold no struct bpf_spin_lock", m.Name)
	}
	off := int64(a.off) + int64(a.s.t.v)
	if off != int64(m.SpinLockOffset) {
		return v.errf(regno, fmt.Sprintf("off %d doesn't point to 'struct bpf_spin_lock' that is at %d", off, m.SpinLockOffset),
			"%s points to offset %d of the value, and the lock is at offset %d", argN, off, m.SpinLockOffset)
	}
	st := v.cur
	if lock {
		if st.lock.held {
			return v.errf(regno, "Locking two bpf_spin_locks are not allowed", "a bpf_spin_lock (taken at instruction %d) is already held: a program may hold one at a time", st.lock.insn)
		}
		st.lock = lockState{held: true, aux: a.aux, id: a.id, off: int32(off), insn: v.insn}
		return nil
	}
	if !st.lock.held {
		return v.errf(regno, "bpf_spin_unlock without taking a lock", "bpf_spin_unlock is called, and no bpf_spin_lock is held on this path")
	}
	if st.lock.aux != a.aux || st.lock.id != a.id {
		return v.errf(regno, "bpf_spin_unlock of different lock", "bpf_spin_unlock is called on another lock than the one taken at instruction %d", st.lock.insn)
	}
	st.lock = lockState{}
	return nil
}

// mapFuncCompat is the kernel's check_map_func_compatibility: "" when
// the helper may take the map.
func mapFuncCompat(m *Map, user map[int32]helper.Helper, id int32, pr *proto) string {
	if _, ok := user[id]; ok {
		return ""
	}
	var allowed []int32
	switch m.Type {
	case ebpf.ProgramArray:
		allowed = []int32{fnTailCall}
	case ebpf.PerfEventArray:
		allowed = []int32{int32(perfEventOutput)}
	case ebpf.CGroupArray:
		allowed = []int32{33, 37} // bpf_skb_under_cgroup, bpf_current_task_under_cgroup
	case ebpf.StackTrace:
		allowed = []int32{27} // bpf_get_stackid
	case ebpf.RingBuf:
		allowed = []int32{int32(ringbufOutput), fnRingbufReserve, int32(ringbufQuery)}
	case ebpf.DevMap, ebpf.DevMapHash, ebpf.XSKMap:
		allowed = []int32{int32(redirectMap), int32(mapLookupElem)}
	case ebpf.CPUMap:
		allowed = []int32{int32(redirectMap)}
	case ebpf.ArrayOfMaps, ebpf.HashOfMaps:
		allowed = []int32{int32(mapLookupElem)}
	case ebpf.Queue, ebpf.Stack:
		allowed = []int32{int32(mapPeekElem), int32(mapPopElem), int32(mapPushElem)}
	case ebpf.BloomFilter:
		allowed = []int32{int32(mapPeekElem), int32(mapPushElem)}
	}
	if allowed != nil && !slices.Contains(allowed, id) {
		return fmt.Sprintf("map %s is a %s, which %s does not take", m.Name, m.Type, pr.name)
	}
	if pr.MapTypes != nil && !slices.Contains(pr.MapTypes, m.Type) {
		if id == fnForEachMapElem {
			return fmt.Sprintf("bpf_for_each_map_elem cannot iterate map %s, a %s (it iterates arrays and hashes)", m.Name, m.Type)
		}
		return fmt.Sprintf("%s needs a map of type %v, and map %s is a %s", pr.name, pr.MapTypes, m.Name, m.Type)
	}
	return ""
}

// releaseRef releases an acquired reference: every pointer holding it is
// invalid from now on.
func (v *verifier) releaseRef(id uint32) {
	v.dropRef(v.cur, id)
	v.cur.forEachReg(func(r *reg) {
		if r.ref == id {
			if v.strict {
				*r = notInit(v.insn)
			} else {
				*r = unknownReg(v.insn)
			}
		}
	})
}

// clearPacketPointers invalidates every packet pointer after a helper
// that moves the packet.
func (v *verifier) clearPacketPointers() {
	v.cur.forEachReg(func(r *reg) {
		if r.isPacketPtr() || r.typ == regPacketEnd {
			if v.strict {
				*r = notInit(v.insn)
			} else {
				*r = unknownReg(v.insn)
			}
		}
	})
}

// subprogChangesPacket reports whether subprogram k may move the packet:
// it calls a helper that does (helper.Proto.ChangesPacket) or makes a tail
// call, or calls a subprogram that may, as the kernel's
// mark_subprog_changes_pkt_data and merge_callee_effects compute it.
func (v *verifier) subprogChangesPacket(k int) bool {
	if v.changesPkt == nil {
		n := len(v.prog.subprogs)
		v.changesPkt = make([]bool, n)
		var edges [][2]int
		for i, ins := range v.prog.insns {
			if ins.IsLocalCall() {
				edges = append(edges, [2]int{v.prog.subOf[i], v.prog.subOf[v.prog.target(i)]})
				continue
			}
			if !ins.IsHelperCall() {
				continue
			}
			id := int32(ins.Imm)
			if pr := v.protoFor(id); id == fnTailCall || (pr != nil && pr.ChangesPacket) {
				v.changesPkt[v.prog.subOf[i]] = true
			}
		}
		for changed := true; changed; {
			changed = false
			for _, e := range edges {
				if v.changesPkt[e[1]] && !v.changesPkt[e[0]] {
					v.changesPkt[e[0]] = true
					changed = true
				}
			}
		}
	}
	return v.changesPkt[k]
}

// localCall enters a subprogram.
func (v *verifier) localCall(insn int, ins isa.Instruction) (int, *vErr) {
	st := v.cur
	if len(st.frames) >= maxFrames {
		return -1, v.errf(-1, fmt.Sprintf("the call stack of %d frames is too deep", len(st.frames)+1),
			"the call nests %d functions deep, more than the kernel's 8 frames", len(st.frames)+1)
	}
	target := v.prog.target(insn)
	if gf := v.globals[v.prog.subOf[target]]; gf != nil {
		return v.globalCall(insn, gf)
	}
	caller := st.cur()
	f := v.pool.newFrame()
	f.callsite, f.subprog = insn, v.prog.subOf[target]
	f.serial = v.newSerial()
	for i := range f.regs {
		f.regs[i] = notInit(insn)
	}
	for r := 1; r <= 5; r++ {
		f.regs[r] = caller.regs[r]
	}
	f.regs[10] = ptrReg(regStack, insn)
	f.regs[10].frame = uint8(len(st.frames))
	st.frames = append(st.frames, f)
	v.prog.subprogs[f.subprog].called = true
	st.addPath("insn " + itoa(insn) + ": call function at instruction " + itoa(target))
	return target, nil
}

// globalCall checks a call of a global function: its arguments must fit
// its prototype; it returns an unknown number.
func (v *verifier) globalCall(insn int, gf *GlobalFunction) (int, *vErr) {
	k := v.prog.subOf[gf.Start]
	var meta callMeta
	for i, a := range gf.Args {
		regno := i + 1
		r, err := v.readReg(isa.Register(regno))
		if err != nil {
			return -1, err
		}
		argN := argName(regno, gf.Name)
		switch a.Kind {
		case GlobalArgScalar:
			if r.typ != regScalar {
				return -1, v.errf(regno, fmt.Sprintf("R%d is not a scalar\nCaller passes invalid args into func#%d ('%s')", regno, k, gf.Name),
					"%s is a number in the function's prototype, and it holds %s", argN, v.typeWords(r))
			}
		case GlobalArgCtx:
			if r.typ != regCtx || r.off != 0 || r.hasVarOff() {
				return -1, v.errf(regno, fmt.Sprintf("arg#%d expects pointer to ctx\nCaller passes invalid args into func#%d ('%s')", i, k, gf.Name),
					"%s must be the context pointer, and it holds %s", argN, v.typeWords(r))
			}
		case GlobalArgMem:
			if r.isNull() && !a.NonNull {
				continue
			}
			if err := v.helperMem(regno, r, uint64(a.Size), true, true, false, argN, &meta); err != nil {
				return -1, err
			}
		}
	}
	for _, w := range meta.writes {
		v.helperWrote(w)
	}
	regs := v.regs()
	for r := isa.R1; r <= isa.R5; r++ {
		regs[r] = notInit(insn)
	}
	regs[0] = unknownReg(insn)
	// A global function that may move the packet (it, or a function it
	// calls, calls such a helper or makes a tail call) invalidates the
	// caller's packet pointers, as the kernel's changes_pkt_data.
	if v.subprogChangesPacket(k) {
		v.clearPacketPointers()
	}
	v.globalQueue = append(v.globalQueue, k)
	v.prog.subprogs[k].called = true
	return insn + 1, nil
}

// pushCallback queues the exploration of a callback from the helper call
// at insn, with its arguments.
func (v *verifier) pushCallback(insn int, pr *proto, meta *callMeta) *vErr {
	st := v.cur
	if len(st.frames) >= maxFrames {
		return v.errf(-1, fmt.Sprintf("the call stack of %d frames is too deep", len(st.frames)+1),
			"the callback would nest %d functions deep, more than the kernel's 8 frames", len(st.frames)+1)
	}
	if meta.fn < 0 {
		return v.errf(-1, "verifier misconfigured", "%s needs a callback", pr.name)
	}
	sub := v.prog.subprogs[meta.fn]
	cb := v.pool.clone(st)
	caller := cb.cur()
	f := &frame{callsite: insn, subprog: int(meta.fn), callback: true, cbHelper: int32(v.prog.insns[insn].Imm), serial: v.newSerial()}
	for i := range f.regs {
		f.regs[i] = notInit(insn)
	}
	switch pr.callback {
	case cbLoop:
		f.regs[1] = unknownReg(insn)
		f.regs[2] = caller.regs[3]
	case cbForEach:
		m := meta.mapIdx
		f.regs[1] = ptrReg(regMapPtr, insn)
		f.regs[1].aux = m
		f.regs[2] = ptrReg(regMapKey, insn)
		f.regs[2].aux = m
		f.regs[3] = ptrReg(regMapValue, insn)
		f.regs[3].aux = m
		f.regs[4] = caller.regs[3]
	}
	f.regs[10] = ptrReg(regStack, insn)
	f.regs[10].frame = uint8(len(cb.frames))
	cb.frames = append(cb.frames, f)
	cb.cbDepth++
	cb.addPath(fmt.Sprintf("insn %d: %s calls the callback at instruction %d", insn, pr.name, sub.start))
	v.cur.addPath(fmt.Sprintf("insn %d: %s returns (the callback is called zero or more times)", insn, pr.name))
	v.prog.subprogs[meta.fn].called = true
	return v.pushChecked(cb, sub.start, insn)
}

// returnFromFunc handles exit in a subprogram or callback.
func (v *verifier) returnFromFunc(insn int) (int, *vErr) {
	st := v.cur
	callee := st.cur()
	r0 := &callee.regs[0]
	if callee.callback {
		if _, err := v.readReg(isa.R0); err != nil {
			return -1, err
		}
	}
	if r0.typ == regStack {
		return -1, v.errf(0, "cannot return stack pointer to the caller",
			"the function returns a pointer to the stack, which is gone once it returns")
	}
	if callee.callback {
		if r0.typ != regScalar {
			return -1, v.errf(0, fmt.Sprintf("R0 is not a scalar value (%s)", v.kernelType(r0)),
				"the callback must return 0 (go on) or 1 (stop), and it returns %s", v.typeWords(r0))
		}
		v.markPrecise(0)
		if r0.s.smin < 0 || r0.s.smax > callbackRetMax {
			return -1, v.errf(0, fmt.Sprintf("At callback return the register R0 has %s should have been in [0, 1]", kernelScalarBounds(r0.s)),
				"the callback must return 0 (go on) or 1 (stop), and it may return %s", v.valueWords(r0))
		}
		st.frames = st.frames[:len(st.frames)-1]
		st.addPath(fmt.Sprintf("insn %d: the callback returns to %s at instruction %d", insn, helper.Name(callee.cbHelper), callee.callsite))
		v.widenAfterCallback(callee.callsite)
		return callee.callsite, nil
	}
	st.frames = st.frames[:len(st.frames)-1]
	caller := st.cur()
	caller.regs[0] = *r0
	for r := 1; r <= 5; r++ {
		caller.regs[r] = notInit(insn)
	}
	st.addPath("insn " + itoa(insn) + ": return to instruction " + itoa(callee.callsite+1))
	next := callee.callsite + 1
	// Nothing else refers to the callee's frame (states are cloned with
	// their own frames).
	v.pool.putFrame(callee)
	return next, nil
}

// privileged are the helpers the kernel gives only to programs loaded with
// CAP_BPF or CAP_PERFMON (bpf_base_func_proto).
var privileged = map[int32]bool{
	fnSpinLock: true, fnSpinUnlock: true, 118: true, // jiffies64
	6: true, fnSnprintf: true, 4: true, 45: true, 112: true, 113: true, 114: true, 115: true, // printing, probe_read
	160: true, fnCopyFromUser: true, // ktime_get_coarse_ns, copy_from_user
}

// Helper IDs used by name.
const (
	mapLookupElem      = 1
	perfEventOutput    = 25
	redirectMap        = 51
	mapPushElem        = 87
	mapPopElem         = 88
	mapPeekElem        = 89
	ringbufOutput      = 130
	ringbufQuery       = 134
	probeReadStr       = 45
	probeReadUserStr   = 114
	probeReadKernelStr = 115
)
