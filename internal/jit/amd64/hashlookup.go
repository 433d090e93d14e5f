package amd64

import "github.com/waggle-ebpf/waggle/internal/jit/abi"

const extMul = 4 // the 0xf7 group's unsigned multiply of rdx:rax

// inlineHashLookup compiles bpf_map_lookup_elem of a hash map that r1 is
// known to hold: the key's hash, the walk of its bucket's chain and the
// address of the value, as maps.hashTab.find does, under the same
// protocol: the stripe's sequence count is read before and after the walk,
// and when a writer was at work (odd or changed count) or the chain runs
// longer than the map has slots, the lookup is left to Go through the
// helper exit. r2 is kept for that; r1 is reloaded.
//
// Registers: r8 the key word, r9 the hash (low half) and the sequence count
// (high half), r10 the count's address, rcx the chain's next slot+1, rdx
// the steps, rdi the slot, rax the slot's record and then r0. r9 holds the
// budget, which waits in the Context meanwhile.
func (c *compiler) inlineHashLookup(slot int, handle uint64, h abi.HashMap) {
	c.saveBudget()
	// The key word, zero-extended as the map stores it.
	if h.KeySize == 4 {
		c.load(4, r8, rsi, 0)
	} else {
		c.load(8, r8, rsi, 0)
	}
	// hash = mix(mix(w ^ HashXor, HashMul) ^ K0, ... ^ K1).
	c.movImm(rax, h.HashXor)
	c.aluRR(0x31, true, rax, r8)
	c.movImm(tmp, h.HashMul)
	c.unary(extMul, true, tmp)
	c.aluRR(0x31, true, rax, rdx)
	c.movRR(true, r9, rax)
	c.movImm(tmp, h.HashK1)
	c.aluRR(0x31, true, r9, tmp)
	c.movImm(tmp, h.HashK0)
	c.aluRR(0x31, true, rax, tmp)
	c.unary(extMul, true, r9)
	c.aluRR(0x31, true, rax, rdx)
	c.movRR(false, r9, rax) // the hash, zero-extended
	// The bucket, its stripe's sequence count.
	c.movRR(false, rdi, rax)
	c.aluRI(extAnd, false, rdi, int32(h.Mask))
	c.movRR(false, r10, rdi)
	c.aluRI(extAnd, false, r10, int32(h.StripeMask))
	c.multiply(r10, uint64(h.StripeSize))
	c.movImm(tmp, uint64(h.Stripes)+uint64(h.StripeSeq))
	c.aluRR(0x01, true, r10, tmp)
	c.load(4, rcx, r10, 0)
	c.testRI(false, rcx, 1)
	var slow []int
	slow = append(slow, c.jcc(ccNE))
	c.shiftRI(extShl, true, rcx, 32)
	c.aluRR(0x09, true, r9, rcx)
	// The chain's head.
	c.movRR(true, rcx, rdi)
	c.shiftRI(extShl, true, rcx, 2)
	c.movImm(tmp, uint64(h.Buckets))
	c.aluRR(0x01, true, rcx, tmp)
	c.load(4, rcx, rcx, 0)
	c.movImm(rdx, 0)
	loop := c.pos()
	c.aluRR(0x85, false, rcx, rcx)
	notFound := c.jcc(ccE)
	c.movRR(false, rdi, rcx)
	c.aluRI(extSub, false, rdi, 1)
	c.movRR(true, rax, rdi)
	c.multiply(rax, uint64(h.SlotSize))
	c.movImm(tmp, uint64(h.Slots))
	c.aluRR(0x01, true, rax, tmp)
	c.load(4, tmp, rax, int32(h.SlotHash))
	c.aluRR(0x39, false, tmp, r9) // cmp the slot's hash, the key's
	next := c.jcc(ccNE)
	c.movRR(true, tmp, rdi)
	c.shiftRI(extShl, true, tmp, 3)
	c.movImm(rcx, uint64(h.Keys))
	c.aluRR(0x01, true, tmp, rcx)
	c.aluRM(0x3b, r8, tmp, 0) // cmp the key word, the slot's
	found := c.jcc(ccE)
	c.patch(next, c.pos())
	c.load(4, rcx, rax, int32(h.SlotNext))
	c.aluRI(extAdd, false, rdx, 1)
	c.aluRI(extCmp, false, rdx, int32(h.SlotCount))
	slow = append(slow, c.jcc(ccA))
	c.jumpTo(loop)

	// Found or not, the sequence count must not have moved.
	sameSeq := func() {
		c.load(4, tmp, r10, 0)
		c.movRR(true, rcx, r9)
		c.shiftRI(extShr, true, rcx, 32)
		c.aluRR(0x39, false, tmp, rcx)
		slow = append(slow, c.jcc(ccNE))
	}
	c.patch(found, c.pos())
	sameSeq()
	c.movRR(true, rax, rdi)
	c.multiply(rax, uint64(h.ValueStride))
	c.movImm(tmp, uint64(h.Values))
	c.aluRR(0x01, true, rax, tmp)
	c.loadBudget()
	done := []int{c.jmp()}
	c.patch(notFound, c.pos())
	sameSeq()
	c.movImm(rax, 0)
	c.loadBudget()
	done = append(done, c.jmp())

	for _, p := range slow {
		c.patch(p, c.pos())
	}
	c.loadBudget()
	c.movImm(rdi, handle)
	c.helperExit(slot)
	for _, p := range done {
		c.patch(p, c.pos())
	}
}
