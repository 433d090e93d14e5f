package amd64

import "github.com/waggle-ebpf/waggle/internal/jit/abi"

// inlineTailCall compiles bpf_tail_call(ctx, prog_array, index) through a
// prog_array that r2 is known to hold as the kernel's JIT compiles it: the
// index is checked against max_entries, the run's count of tail calls
// against abi.MaxTailCalls, and the slot of the array's tail table is read
// with one 8-byte load (atomic: Go stores it as the array changes); an
// empty slot falls through with r0 = 0, a program Go must enter
// (abi.TailThroughGo) goes through the helper exit as before, and
// anything else is the code to jump to, which runs in the same frame with
// r1, r6 to r10 and the budget as they are. As in the interpreter, only
// tail calls that happen count.
//
//	mov eax, edx                      ; the index, 32 bits
//	cmp eax, max_entries ; jae out
//	cmp qword [r12+TailCalls], 33 ; jae out
//	shl rax, 3 ; mov r11, tails ; add rax, r11 ; mov r11, [rax]
//	test r11, r11 ; je out
//	cmp r11, 1 ; je helper exit
//	add qword [r12+TailCalls], 1
//	jmp r11
//	out: xor eax, eax
func (c *compiler) inlineTailCall(slot int, pa abi.ProgArray) {
	c.movRR(false, rax, rdx)
	var out []int
	if pa.MaxEntries <= 1<<31-1 {
		c.aluRI(extCmp, false, rax, int32(pa.MaxEntries))
	} else {
		c.movImm(tmp, uint64(pa.MaxEntries))
		c.aluRR(0x39, true, rax, tmp)
	}
	out = append(out, c.jcc(ccAE))
	c.aluMI(extCmp, ctxReg, abi.OffTailCalls, abi.MaxTailCalls)
	out = append(out, c.jcc(ccAE))
	c.shiftRI(extShl, true, rax, 3)
	c.movImm(tmp, uint64(pa.Tails))
	c.aluRR(0x01, true, rax, tmp)
	c.load(8, tmp, rax, 0)
	c.aluRR(0x85, true, tmp, tmp)
	out = append(out, c.jcc(ccE))
	c.aluRI(extCmp, true, tmp, abi.TailThroughGo)
	throughGo := c.jcc(ccE)
	c.aluMI(extAdd, ctxReg, abi.OffTailCalls, 1)
	c.jmpReg(tmp)
	c.patch(throughGo, c.pos())
	c.helperExit(slot)
	done := c.jmp()
	for _, p := range out {
		c.patch(p, c.pos())
	}
	c.movImm(rax, 0)
	c.patch(done, c.pos())
}
