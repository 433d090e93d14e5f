package amd64

import (
	"github.com/waggle-ebpf/waggle/internal/jit/abi"
)

// maxLoops is bpf_loop's limit on iterations (the kernel's BPF_MAX_LOOPS).
const maxLoops = 1 << 23

// e2big32 is -E2BIG as the kernel's inlined bpf_loop returns it: a 32-bit
// move, zero-extended.
const e2big32 = 0xfffffff9

// inlineLoop compiles bpf_loop(nr_loops, callback, ctx, flags) whose
// callback r2 is known (an lddw of a function in the same basic block) as
// the kernel's verifier inlines it (inline_bpf_loop): a loop in compiled
// code that calls the callback as a bpf-to-bpf call, with no exit to Go.
// Its results are the helper's: flags other than 0 go to the helper
// (-EINVAL), nr_loops (32 bits) above 2^23 gives -E2BIG as a 32-bit
// value, and the loop stops after the first callback that returns
// anything but 0, returning the iterations it ran. Each iteration charges
// the callback's length to the budget, as Go does when it enters a
// callback, and gives the callback a may_goto count of its own (when the
// program has may_goto), restoring the caller's after the loop.
//
// r6 to r8 of the caller wait on the machine stack while rbx, r13 and
// r14 hold the iteration, nr_loops and ctx; each call saves them as
// every bpf-to-bpf call does.
func (c *compiler) inlineLoop(slot, target int) {
	c.aluRR(0x85, true, rcx, rcx)
	slow := c.jcc(ccNE)
	c.movRR(false, rdi, rdi)
	c.aluRI(extCmp, true, rdi, maxLoops)
	ok := c.jcc(ccBE)
	c.movImm(rax, e2big32)
	done := []int{c.jmp()}
	c.patch(ok, c.pos())
	for _, r := range []reg{rbx, r13, r14} {
		c.push(r)
	}
	if c.mayGotos {
		c.load(8, tmp, ctxReg, abi.OffMayGoto)
		c.push(tmp)
	}
	c.movImm(rbx, 0)
	c.movRR(true, r13, rdi)
	c.movRR(true, r14, rdx)
	loop := c.pos()
	c.aluRR(0x39, true, rbx, r13) // cmp rbx, r13
	end := c.jcc(ccAE)
	c.movRR(true, rdi, rbx)
	c.movRR(true, rsi, r14)
	if c.mayGotos {
		c.mayGotoEntry()
	}
	if !c.in.Unbounded {
		c.charge(slot, int(c.funcLen[target]))
	}
	for _, r := range []reg{rbx, r13, r14, r15} {
		c.push(r)
	}
	c.aluRI(extSub, true, rbp, abi.StackSize)
	c.jumpToSlot(fixCall, 0, target)
	c.aluRI(extAdd, true, rbp, abi.StackSize)
	for _, r := range []reg{r15, r14, r13, rbx} {
		c.pop(r)
	}
	c.aluRI(extAdd, true, rbx, 1)
	c.aluRR(0x85, true, rax, rax)
	c.patch(c.jcc(ccE), loop)
	c.patch(end, c.pos())
	c.movRR(true, rax, rbx)
	if c.mayGotos {
		c.pop(tmp)
		c.store(8, ctxReg, abi.OffMayGoto, tmp)
	}
	for _, r := range []reg{r14, r13, rbx} {
		c.pop(r)
	}
	done = append(done, c.jmp())
	c.patch(slow, c.pos())
	c.helperExit(slot)
	for _, p := range done {
		c.patch(p, c.pos())
	}
}
