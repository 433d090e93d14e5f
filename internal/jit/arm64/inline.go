package arm64

import (
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
)

// maxLoops is bpf_loop's limit on iterations (the kernel's BPF_MAX_LOOPS).
const maxLoops = 1 << 23

// e2big32 is -E2BIG as the kernel's inlined bpf_loop returns it: a 32-bit
// move, zero-extended.
const e2big32 = 0xfffffff9

// Scratch registers of the inlined hash lookup besides t3 to t6: none of
// them holds an eBPF register.
const (
	x5 reg = 5
	x6 reg = 6
)

// inlineHelper compiles the helper call at slot inline if it can, as
// package amd64 does: lookups in arrays and hash maps whose handle r1 is
// known to hold, bpf_get_smp_processor_id, bpf_loop of a known callback
// and tail calls through a known prog_array. done is false when the call
// must exit to Go.
func (c *compiler) inlineHelper(slot int, id int32) (done bool, err error) {
	if c.in.Inline == nil || !c.in.Inline(id) {
		return false, nil
	}
	switch {
	case id == helperMapLookupElem && c.inlineArrayLookup():
		return true, nil
	case id == helperMapLookupElem && c.knownValid[1] && !c.in.Checked && c.in.Hash != nil:
		if h, ok := c.in.Hash(c.known[1]); ok && (h.KeySize == 4 || h.KeySize == 8) {
			c.recordCallMap(slot)
			c.inlineHashLookup(slot, c.known[1], h)
			return true, nil
		}
	case id == helperGetSmpProcessorID:
		c.load(4, x7, ctxReg, abi.OffCPU, memTmp)
		return true, nil
	case id == helperLoop && c.knownValid[2] && !c.in.Checked && c.known[2]&abi.FuncMask == abi.FuncTag:
		if t := int(c.known[2] &^ abi.FuncMask); t < len(c.funcLen) && c.funcLen[t] > 0 {
			if err := c.in.Helper(id); err != nil {
				return false, err
			}
			c.inlineLoop(slot, t)
			return true, nil
		}
	case id == helperTailCall && c.knownValid[2] && !c.in.Checked && c.in.ProgArray != nil:
		if pa, ok := c.in.ProgArray(c.known[2]); ok {
			if err := c.in.Helper(id); err != nil {
				return false, err
			}
			c.inlineTailCall(slot, pa)
			return true, nil
		}
	}
	return false, nil
}

// multiply multiplies r by n (through immTmp unless n is a power of two).
func (c *compiler) multiply(r reg, n uint64) {
	if n&(n-1) == 0 {
		shift := uint32(0)
		for ; n > 1; n >>= 1 {
			shift++
		}
		if shift > 0 {
			c.shiftImm(shiftLSL, true, r, r, shift)
		}
		return
	}
	c.movImm(immTmp, n)
	c.madd(true, false, r, r, immTmp, xzr)
}

// addConst64 adds the constant v to r (through immTmp).
func (c *compiler) addConst64(r reg, v uint64) {
	c.movImm(immTmp, v)
	c.rrr(opADD, true, r, r, immTmp)
}

// cmpConst compares the low 32 bits (w false) or all of r with v.
func (c *compiler) cmpConst(w bool, r reg, v uint64) {
	if v < 4096 {
		c.subsImm(w, xzr, r, uint32(v))
		return
	}
	c.movImm(immTmp, v)
	c.cmp(w, r, immTmp)
}

// inlineArrayLookup compiles bpf_map_lookup_elem of an array map that r1
// is known to hold, as the kernel's JIT does: the element's address, or
// NULL for an index out of range.
//
//	ldr w7, [x1]            ; the index, *(u32 *)r2
//	cmp w7, max_entries ; b.hs out
//	x7 = values + x7*slot (+ cpu*stride for a per-CPU array, if cpu < cpus)
//	out: mov x7, #0
func (c *compiler) inlineArrayLookup() bool {
	m, slot, ok := c.in.InlinedArray(c.known[1], c.knownValid[1])
	if !ok {
		return false
	}
	c.load(4, x7, bpfRegs[2], 0, memTmp)
	c.cmpConst(false, x7, uint64(m.MaxEntries))
	out := c.bcond(condHS)
	c.multiply(x7, slot)
	noCPU := -1
	if m.CPUs > 0 {
		c.ldCtx(tmp, abi.OffCPU)
		c.cmpConst(true, tmp, uint64(m.CPUs))
		noCPU = c.bcond(condHS)
		c.multiply(tmp, uint64(m.Stride))
		c.rrr(opADD, true, x7, x7, tmp)
	}
	c.addConst64(x7, uint64(m.Values))
	done := c.branch()
	c.patch(out, c.pos())
	if noCPU >= 0 {
		c.patch(noCPU, c.pos())
	}
	c.movImm(x7, 0)
	c.patch(done, c.pos())
	return true
}

// inlineTailCall compiles bpf_tail_call(ctx, prog_array, index) through a
// prog_array that r2 is known to hold, as package amd64 does: the index
// is checked against max_entries, the run's count of tail calls against
// abi.MaxTailCalls, and the slot of the array's tail table is read with
// one 8-byte load (single-copy atomic: Go stores it as the array
// changes); an empty slot falls through with r0 = 0, a program Go must
// enter (abi.TailThroughGo) goes through the helper exit, and anything
// else is the code to branch to, which runs in the same frame with r1,
// r6 to r10, x30 and the budget as they are.
func (c *compiler) inlineTailCall(slot int, pa abi.ProgArray) {
	c.movRR(false, x7, bpfRegs[3])
	var out []int
	c.cmpConst(false, x7, uint64(pa.MaxEntries))
	out = append(out, c.bcond(condHS))
	c.ldCtx(tmp, abi.OffTailCalls)
	c.cmpConst(true, tmp, abi.MaxTailCalls)
	out = append(out, c.bcond(condHS))
	c.shiftImm(shiftLSL, true, x7, x7, 3)
	c.addConst64(x7, uint64(pa.Tails))
	c.load(8, aux, x7, 0, memTmp)
	out = append(out, c.cbz(true, false, aux))
	c.subsImm(true, xzr, aux, abi.TailThroughGo)
	throughGo := c.bcond(condEQ)
	c.addImm(true, tmp, tmp, 1)
	c.stCtx(abi.OffTailCalls, tmp)
	c.br(aux)
	c.patch(throughGo, c.pos())
	c.helperExit(slot)
	done := c.branch()
	for _, p := range out {
		c.patch(p, c.pos())
	}
	c.movImm(x7, 0)
	c.patch(done, c.pos())
}

// inlineLoop compiles bpf_loop(nr_loops, callback, ctx, flags) whose
// callback r2 is known as the kernel's verifier inlines it and package
// amd64 compiles it: a loop in compiled code that calls the callback as a
// bpf-to-bpf call. Flags other than 0 go to the helper (-EINVAL),
// nr_loops (32 bits) above 2^23 gives -E2BIG as a 32-bit value, and the
// loop stops after the first callback that returns anything but 0,
// returning the iterations it ran. Each iteration charges the callback's
// length to the budget and gives the callback a may_goto count of its own
// (when the program has may_goto), restoring the caller's after the loop.
//
// r6 to r8 of the caller wait on the program's stack while x19 to x21
// hold the iteration, nr_loops and ctx.
func (c *compiler) inlineLoop(slot, target int) {
	slow := c.cbz(true, true, bpfRegs[4])
	c.movRR(false, x0, x0)
	c.cmpConst(true, x0, maxLoops)
	ok := c.bcond(condLS)
	c.movImm(x7, e2big32)
	done := []int{c.branch()}
	c.patch(ok, c.pos())
	c.pushPair(x19, x20)
	saved := xzr
	if c.mayGotos {
		c.ldCtx(tmp, abi.OffMayGoto)
		saved = tmp
	}
	c.pushPair(x21, saved)
	c.movImm(x19, 0)
	c.movRR(true, x20, x0)
	c.movRR(true, x21, bpfRegs[3])
	loop := c.pos()
	c.cmp(true, x19, x20)
	end := c.bcond(condHS)
	c.movRR(true, x0, x19)
	c.movRR(true, x1, x21)
	if c.mayGotos {
		c.mayGotoEntry()
	}
	if !c.in.Unbounded {
		c.charge(slot, int(c.funcLen[target]))
	}
	c.localCall(target)
	c.addImm(true, x19, x19, 1)
	c.patch(c.cbz(true, false, x7), loop)
	c.patch(end, c.pos())
	c.movRR(true, x7, x19)
	c.popPair(x21, tmp)
	if c.mayGotos {
		c.stCtx(abi.OffMayGoto, tmp)
	}
	c.popPair(x19, x20)
	done = append(done, c.branch())
	c.patch(slow, c.pos())
	c.helperExit(slot)
	for _, p := range done {
		c.patch(p, c.pos())
	}
}

// inlineHashLookup compiles bpf_map_lookup_elem of a hash map that r1 is
// known to hold, as package amd64 does (see maps.hashTab.find): the key's
// hash, the walk of its bucket's chain and the address of the value,
// reading the stripe's sequence count before and after the walk; when a
// writer was at work (odd or changed count) or the chain runs longer than
// the map has slots, the lookup is left to Go through the helper exit,
// with r2 as it was and r1 reloaded.
//
// Registers: x12 the key word, x13 the hash (low half) and the sequence
// count (high half), x14 the count's address, x15 the chain's next
// slot+1, x5 the steps, x6 the slot, x7 the slot's record and then r0.
func (c *compiler) inlineHashLookup(slot int, handle uint64, h abi.HashMap) {
	key, hash, seqAddr, next, steps, idx := t3, t4, t5, t6, x5, x6
	c.load(int(h.KeySize), key, bpfRegs[2], 0, memTmp)
	// hash = mix(mix(w ^ HashXor, HashMul) ^ K0, ... ^ K1), where
	// mix(a, b) is the low half of a*b xor its high half.
	c.movImm(x7, h.HashXor)
	c.rrr(opEOR, true, x7, x7, key)
	c.movImm(immTmp, h.HashMul)
	c.madd(true, false, tmp, x7, immTmp, xzr)
	c.umulh(x7, x7, immTmp)
	c.rrr(opEOR, true, x7, tmp, x7)
	c.movImm(immTmp, h.HashK1)
	c.rrr(opEOR, true, hash, x7, immTmp)
	c.movImm(immTmp, h.HashK0)
	c.rrr(opEOR, true, x7, x7, immTmp)
	c.madd(true, false, tmp, x7, hash, xzr)
	c.umulh(x7, x7, hash)
	c.rrr(opEOR, true, x7, tmp, x7)
	c.movRR(false, hash, x7) // the hash, zero-extended
	// The bucket, its stripe's sequence count.
	c.movImm(immTmp, uint64(h.Mask))
	c.rrr(opAND, false, idx, x7, immTmp)
	c.movImm(immTmp, uint64(h.StripeMask))
	c.rrr(opAND, false, seqAddr, idx, immTmp)
	c.multiply(seqAddr, uint64(h.StripeSize))
	c.addConst64(seqAddr, uint64(h.Stripes)+uint64(h.StripeSeq))
	c.load(4, next, seqAddr, 0, memTmp)
	c.bfm(false, false, tmp, next, 0, 0) // bit 0: a writer at work
	var slow []int
	slow = append(slow, c.cbz(false, true, tmp))
	c.shiftImm(shiftLSL, true, tmp, next, 32)
	c.rrr(opORR, true, hash, hash, tmp)
	// The chain's head.
	c.shiftImm(shiftLSL, true, next, idx, 2)
	c.addConst64(next, uint64(h.Buckets))
	c.load(4, next, next, 0, memTmp)
	c.movImm(steps, 0)
	loop := c.pos()
	notFound := c.cbz(false, false, next)
	c.subImm(false, idx, next, 1)
	c.movRR(true, x7, idx)
	c.multiply(x7, uint64(h.SlotSize))
	c.addConst64(x7, uint64(h.Slots))
	c.load(4, tmp, x7, int32(h.SlotHash), memTmp)
	c.cmp(false, tmp, hash) // the slot's hash, the key's
	nextSlot := c.bcond(condNE)
	c.shiftImm(shiftLSL, true, tmp, idx, 3)
	c.addConst64(tmp, uint64(h.Keys))
	c.load(8, tmp, tmp, 0, memTmp)
	c.cmp(true, key, tmp) // the key word, the slot's
	found := c.bcond(condEQ)
	c.patch(nextSlot, c.pos())
	c.load(4, next, x7, int32(h.SlotNext), memTmp)
	c.addImm(false, steps, steps, 1)
	c.cmpConst(false, steps, uint64(h.SlotCount))
	slow = append(slow, c.bcond(condHI))
	c.jumpTo(loop)

	// Found or not, the sequence count must not have moved.
	sameSeq := func() {
		c.load(4, tmp, seqAddr, 0, memTmp)
		c.shiftImm(shiftLSR, true, aux, hash, 32)
		c.cmp(false, tmp, aux)
		slow = append(slow, c.bcond(condNE))
	}
	c.patch(found, c.pos())
	sameSeq()
	c.movRR(true, x7, idx)
	c.multiply(x7, uint64(h.ValueStride))
	c.addConst64(x7, uint64(h.Values))
	done := []int{c.branch()}
	c.patch(notFound, c.pos())
	sameSeq()
	c.movImm(x7, 0)
	done = append(done, c.branch())

	for _, p := range slow {
		c.patch(p, c.pos())
	}
	c.movImm(bpfRegs[1], handle)
	c.helperExit(slot)
	for _, p := range done {
		c.patch(p, c.pos())
	}
}
