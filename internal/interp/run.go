package interp

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// Run executes the program on m from its first instruction and returns r0.
// The regions in m.Memory must stay valid for the run.
func (p *Program) Run(m *Machine, args engine.RunArgs) (uint64, error) {
	return p.run(m, &args)
}

// run is Run with the arguments by pointer (RunArgs is too large for
// registers, and Exec's copy of it would wait on the stores that just
// wrote it). It writes the machine's context and deadline only when they
// change: they hold pointers, whose stores pass through the write
// barrier's check.
func (p *Program) run(m *Machine, args *engine.RunArgs) (uint64, error) {
	var regs [16]uint64
	regs[1], regs[2], regs[3], regs[4], regs[5] = args.R1, args.R2, args.R3, args.R4, args.R5
	m.setDepth(0)
	regs[10] = m.stackTop
	if args.Context != nil || m.ctx != nil {
		m.ctx = args.Context
		m.call.Context = args.Context
		if m.call.Context == nil {
			m.call.Context = context.Background()
		}
	}
	if args.Timeout != 0 || m.timeout != 0 {
		m.deadline, m.timeout = args.Deadline, args.Timeout
	}
	m.call.CPU = args.CPU
	m.call.State = args.State
	m.fault = nil
	m.tailCalls = 0
	m.mayGoto = isa.MayGotoLimit
	m.budget = args.Budget
	if m.budget == 0 {
		m.budget = engine.DefaultBudget
	}
	m.steps = 0
	if m.ctx == nil && m.timeout == 0 {
		// refill's first grant, with nothing to look at first.
		m.steps = min(m.budget, checkInterval)
		m.budget -= m.steps
	}
	return p.exec(m, &regs, 0, 0)
}

// refill gives the run its next checkInterval instructions (or what is
// left of its budget), or the error that ends it: a spent budget, a done
// context, a passed deadline. It stays out of line: inlined, its locals
// made exec's frame larger and its loop spill more.
//
//go:noinline
func (m *Machine) refill() (uint64, error) {
	if m.budget == 0 {
		return 0, engine.ErrBudgetExhausted
	}
	if m.ctx != nil || m.timeout != 0 {
		if err := engine.CheckRun(m.ctx, m.deadline, m.timeout); err != nil {
			return 0, err
		}
	}
	steps := min(m.budget, checkInterval)
	m.budget -= steps
	return steps, nil
}

// exec runs from slot pc until the frame at depth base exits. The budget
// lives in m.steps (instructions left before the next look at the context)
// and m.budget (instructions left after those), so that callbacks share it.
//
// The instructions run in loop, whose program stays the same: a tail call,
// or a return into a caller that tail-called, leaves loop and continues
// here in the other program. (Were the program and its code variables of
// loop's, changed by those rare cases, Go would spill them to the stack on
// every instruction.)
func (p *Program) exec(m *Machine, regs *[16]uint64, pc int, base int) (uint64, error) {
	for {
		m.prog = p
		r, err, switched := p.loop(m, regs, pc, base)
		if !switched {
			return r, err
		}
		p, pc = m.prog, int(r)
	}
}

// loop runs p from slot pc until the frame at depth base exits (it returns
// r0 or the error that ended the run, and switched false), or until the
// run goes on in another program: then switched is true, m.prog is that
// program and r the slot to go on from.
func (p0 *Program) loop(m *Machine, regs *[16]uint64, pc int, base int) (uint64, error, bool) {
	code := p0.code
	steps := m.steps
	for {
		if steps == 0 {
			var err error
			if steps, err = m.refill(); err != nil {
				m.steps = 0
				return 0, p0.errAt(pc, err), false
			}
		}
		steps--
		in := &code[pc]
		pc++
		switch in.op {
		case opAdd64K:
			regs[in.dst&15] += uint64(in.imm)
		case opAdd64X:
			regs[in.dst&15] += regs[in.src&15]
		case opSub64K:
			regs[in.dst&15] -= uint64(in.imm)
		case opSub64X:
			regs[in.dst&15] -= regs[in.src&15]
		case opMul64K:
			regs[in.dst&15] *= uint64(in.imm)
		case opMul64X:
			regs[in.dst&15] *= regs[in.src&15]
		case opOr64K:
			regs[in.dst&15] |= uint64(in.imm)
		case opOr64X:
			regs[in.dst&15] |= regs[in.src&15]
		case opAnd64K:
			regs[in.dst&15] &= uint64(in.imm)
		case opAnd64X:
			regs[in.dst&15] &= regs[in.src&15]
		case opXor64K:
			regs[in.dst&15] ^= uint64(in.imm)
		case opXor64X:
			regs[in.dst&15] ^= regs[in.src&15]
		case opLsh64K:
			regs[in.dst&15] <<= uint64(in.imm) & 63
		case opLsh64X:
			regs[in.dst&15] <<= regs[in.src&15] & 63
		case opRsh64K:
			regs[in.dst&15] >>= uint64(in.imm) & 63
		case opRsh64X:
			regs[in.dst&15] >>= regs[in.src&15] & 63
		case opArsh64K:
			regs[in.dst&15] = uint64(int64(regs[in.dst&15]) >> (uint64(in.imm) & 63))
		case opArsh64X:
			regs[in.dst&15] = uint64(int64(regs[in.dst&15]) >> (regs[in.src&15] & 63))
		case opMov64K:
			regs[in.dst&15] = uint64(in.imm)
		case opMov64X:
			regs[in.dst&15] = regs[in.src&15]
		case opAdd32K:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) + uint32(uint64(in.imm)))
		case opAdd32X:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) + uint32(regs[in.src&15]))
		case opSub32K:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) - uint32(uint64(in.imm)))
		case opSub32X:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) - uint32(regs[in.src&15]))
		case opMul32K:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) * uint32(uint64(in.imm)))
		case opMul32X:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) * uint32(regs[in.src&15]))
		case opOr32K:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) | uint32(uint64(in.imm)))
		case opOr32X:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) | uint32(regs[in.src&15]))
		case opAnd32K:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) & uint32(uint64(in.imm)))
		case opAnd32X:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) & uint32(regs[in.src&15]))
		case opXor32K:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) ^ uint32(uint64(in.imm)))
		case opXor32X:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) ^ uint32(regs[in.src&15]))
		case opLsh32K:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) << (uint32(uint64(in.imm)) & 31))
		case opLsh32X:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) << (uint32(regs[in.src&15]) & 31))
		case opRsh32K:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) >> (uint32(uint64(in.imm)) & 31))
		case opRsh32X:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) >> (uint32(regs[in.src&15]) & 31))
		case opArsh32K:
			regs[in.dst&15] = uint64(uint32(int32(regs[in.dst&15]) >> (uint32(uint64(in.imm)) & 31)))
		case opArsh32X:
			regs[in.dst&15] = uint64(uint32(int32(regs[in.dst&15]) >> (uint32(regs[in.src&15]) & 31)))
		case opMov32K:
			regs[in.dst&15] = uint64(uint32(uint64(in.imm)))
		case opMov32X:
			regs[in.dst&15] = uint64(uint32(regs[in.src&15]))
		case opDiv64K:
			if d := uint64(in.imm); d != 0 {
				regs[in.dst&15] /= d
			} else {
				regs[in.dst&15] = 0
			}
		case opMod64K:
			if d := uint64(in.imm); d != 0 {
				regs[in.dst&15] %= d
			}
		case opSDiv64K:
			if d := int64(uint64(in.imm)); d != 0 {
				regs[in.dst&15] = uint64(int64(regs[in.dst&15]) / d)
			} else {
				regs[in.dst&15] = 0
			}
		case opSMod64K:
			if d := int64(uint64(in.imm)); d != 0 {
				regs[in.dst&15] = uint64(int64(regs[in.dst&15]) % d)
			}
		case opDiv32K:
			if d := uint32(uint64(in.imm)); d != 0 {
				regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) / d)
			} else {
				regs[in.dst&15] = 0
			}
		case opMod32K:
			if d := uint32(uint64(in.imm)); d != 0 {
				regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) % d)
			} else {
				regs[in.dst&15] = uint64(uint32(regs[in.dst&15]))
			}
		case opSDiv32K:
			if d := int32(uint64(in.imm)); d != 0 {
				regs[in.dst&15] = uint64(uint32(int32(regs[in.dst&15]) / d))
			} else {
				regs[in.dst&15] = 0
			}
		case opSMod32K:
			if d := int32(uint64(in.imm)); d != 0 {
				regs[in.dst&15] = uint64(uint32(int32(regs[in.dst&15]) % d))
			} else {
				regs[in.dst&15] = uint64(uint32(regs[in.dst&15]))
			}
		case opDiv64X:
			if d := regs[in.src&15]; d != 0 {
				regs[in.dst&15] /= d
			} else {
				regs[in.dst&15] = 0
			}
		case opMod64X:
			if d := regs[in.src&15]; d != 0 {
				regs[in.dst&15] %= d
			}
		case opSDiv64X:
			if d := int64(regs[in.src&15]); d != 0 {
				regs[in.dst&15] = uint64(int64(regs[in.dst&15]) / d)
			} else {
				regs[in.dst&15] = 0
			}
		case opSMod64X:
			if d := int64(regs[in.src&15]); d != 0 {
				regs[in.dst&15] = uint64(int64(regs[in.dst&15]) % d)
			}
		case opDiv32X:
			if d := uint32(regs[in.src&15]); d != 0 {
				regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) / d)
			} else {
				regs[in.dst&15] = 0
			}
		case opMod32X:
			if d := uint32(regs[in.src&15]); d != 0 {
				regs[in.dst&15] = uint64(uint32(regs[in.dst&15]) % d)
			} else {
				regs[in.dst&15] = uint64(uint32(regs[in.dst&15]))
			}
		case opSDiv32X:
			if d := int32(regs[in.src&15]); d != 0 {
				regs[in.dst&15] = uint64(uint32(int32(regs[in.dst&15]) / d))
			} else {
				regs[in.dst&15] = 0
			}
		case opSMod32X:
			if d := int32(regs[in.src&15]); d != 0 {
				regs[in.dst&15] = uint64(uint32(int32(regs[in.dst&15]) % d))
			} else {
				regs[in.dst&15] = uint64(uint32(regs[in.dst&15]))
			}
		case opNeg64:
			regs[in.dst&15] = -regs[in.dst&15]
		case opNeg32:
			regs[in.dst&15] = uint64(-uint32(regs[in.dst&15]))
		case opMovSX8to64:
			regs[in.dst&15] = uint64(int64(int8(regs[in.src&15])))
		case opMovSX16to64:
			regs[in.dst&15] = uint64(int64(int16(regs[in.src&15])))
		case opMovSX32to64:
			regs[in.dst&15] = uint64(int64(int32(regs[in.src&15])))
		case opMovSX8to32:
			regs[in.dst&15] = uint64(uint32(int32(int8(regs[in.src&15]))))
		case opMovSX16to32:
			regs[in.dst&15] = uint64(uint32(int32(int16(regs[in.src&15]))))
		case opZext16:
			regs[in.dst&15] = uint64(uint16(regs[in.dst&15]))
		case opZext32:
			regs[in.dst&15] = uint64(uint32(regs[in.dst&15]))
		case opNop:

		case opSwap16:
			regs[in.dst&15] = uint64(bits.ReverseBytes16(uint16(regs[in.dst&15])))
		case opSwap32:
			regs[in.dst&15] = uint64(bits.ReverseBytes32(uint32(regs[in.dst&15])))
		case opSwap64:
			regs[in.dst&15] = bits.ReverseBytes64(regs[in.dst&15])
		case opLdDW:
			regs[in.dst&15] = uint64(in.imm)
			pc++
		case opLdxB:
			addr := regs[in.src&15] + uint64(in.off)
			if p := m.access(addr, 1, memory.Read); p != nil {
				regs[in.dst&15] = uint64(loadU8(p))
			} else if v, ok := m.loadVirtual(addr, 1); ok {
				regs[in.dst&15] = v
			} else {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opLdxH:
			addr := regs[in.src&15] + uint64(in.off)
			if p := m.access(addr, 2, memory.Read); p != nil {
				regs[in.dst&15] = uint64(loadU16(p))
			} else if v, ok := m.loadVirtual(addr, 2); ok {
				regs[in.dst&15] = v
			} else {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opLdxW:
			addr := regs[in.src&15] + uint64(in.off)
			if p := m.access(addr, 4, memory.Read); p != nil {
				regs[in.dst&15] = uint64(loadU32(p))
			} else if v, ok := m.loadVirtual(addr, 4); ok {
				regs[in.dst&15] = v
			} else {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opLdxDW:
			addr := regs[in.src&15] + uint64(in.off)
			if p := m.access(addr, 8, memory.Read); p != nil {
				regs[in.dst&15] = loadU64(p)
			} else if v, ok := m.loadVirtual(addr, 8); ok {
				regs[in.dst&15] = v
			} else {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opLdxSB:
			addr := regs[in.src&15] + uint64(in.off)
			if p := m.access(addr, 1, memory.Read); p != nil {
				regs[in.dst&15] = uint64(int64(loadI8(p)))
			} else if v, ok := m.loadVirtual(addr, 1); ok {
				regs[in.dst&15] = v
			} else {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opLdxSH:
			addr := regs[in.src&15] + uint64(in.off)
			if p := m.access(addr, 2, memory.Read); p != nil {
				regs[in.dst&15] = uint64(int64(loadI16(p)))
			} else if v, ok := m.loadVirtual(addr, 2); ok {
				regs[in.dst&15] = v
			} else {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opLdxSW:
			addr := regs[in.src&15] + uint64(in.off)
			if p := m.access(addr, 4, memory.Read); p != nil {
				regs[in.dst&15] = uint64(int64(loadI32(p)))
			} else if v, ok := m.loadVirtual(addr, 4); ok {
				regs[in.dst&15] = v
			} else {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opStB:
			addr := regs[in.dst&15] + uint64(in.off)
			if p := m.access(addr, 1, memory.Write); p != nil {
				storeU8(p, uint8(in.imm))
			} else if !m.storeVirtual(addr, 1, uint64(in.imm)) {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opStxB:
			addr := regs[in.dst&15] + uint64(in.off)
			if p := m.access(addr, 1, memory.Write); p != nil {
				storeU8(p, uint8(regs[in.src&15]))
			} else if !m.storeVirtual(addr, 1, uint64(regs[in.src&15])) {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opStH:
			addr := regs[in.dst&15] + uint64(in.off)
			if p := m.access(addr, 2, memory.Write); p != nil {
				storeU16(p, uint16(in.imm))
			} else if !m.storeVirtual(addr, 2, uint64(in.imm)) {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opStxH:
			addr := regs[in.dst&15] + uint64(in.off)
			if p := m.access(addr, 2, memory.Write); p != nil {
				storeU16(p, uint16(regs[in.src&15]))
			} else if !m.storeVirtual(addr, 2, uint64(regs[in.src&15])) {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opStW:
			addr := regs[in.dst&15] + uint64(in.off)
			if p := m.access(addr, 4, memory.Write); p != nil {
				storeU32(p, uint32(in.imm))
			} else if !m.storeVirtual(addr, 4, uint64(in.imm)) {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opStxW:
			addr := regs[in.dst&15] + uint64(in.off)
			if p := m.access(addr, 4, memory.Write); p != nil {
				storeU32(p, uint32(regs[in.src&15]))
			} else if !m.storeVirtual(addr, 4, uint64(regs[in.src&15])) {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opStDW:
			addr := regs[in.dst&15] + uint64(in.off)
			if p := m.access(addr, 8, memory.Write); p != nil {
				storeU64(p, uint64(in.imm))
			} else if !m.storeVirtual(addr, 8, uint64(in.imm)) {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opStxDW:
			addr := regs[in.dst&15] + uint64(in.off)
			if p := m.access(addr, 8, memory.Write); p != nil {
				storeU64(p, uint64(regs[in.src&15]))
			} else if !m.storeVirtual(addr, 8, uint64(regs[in.src&15])) {
				return 0, p0.faulted(m, pc-1, steps), false
			}
		case opAtomicAdd32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomic.AddUint32((*uint32)(p), uint32(regs[in.src&15]))
		case opAtomicOr32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomic.OrUint32((*uint32)(p), uint32(regs[in.src&15]))
		case opAtomicAnd32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomic.AndUint32((*uint32)(p), uint32(regs[in.src&15]))
		case opAtomicXor32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomicXorUint32((*uint32)(p), uint32(regs[in.src&15]))
		case opAtomicFetchAdd32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomic.AddUint32((*uint32)(p), uint32(regs[in.src&15])) - uint32(regs[in.src&15]))
		case opAtomicFetchOr32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomic.OrUint32((*uint32)(p), uint32(regs[in.src&15])))
		case opAtomicFetchAnd32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomic.AndUint32((*uint32)(p), uint32(regs[in.src&15])))
		case opAtomicFetchXor32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomicXorUint32((*uint32)(p), uint32(regs[in.src&15])))
		case opAtomicXchg32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomic.SwapUint32((*uint32)(p), uint32(regs[in.src&15])))
		case opAtomicCmpXchg32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[0] = uint64(atomicCmpXchgUint32((*uint32)(p), uint32(regs[0]), uint32(regs[in.src&15])))
		case opAtomicAdd64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomic.AddUint64((*uint64)(p), uint64(regs[in.src&15]))
		case opAtomicOr64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomic.OrUint64((*uint64)(p), uint64(regs[in.src&15]))
		case opAtomicAnd64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomic.AndUint64((*uint64)(p), uint64(regs[in.src&15]))
		case opAtomicXor64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomicXorUint64((*uint64)(p), uint64(regs[in.src&15]))
		case opAtomicFetchAdd64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomic.AddUint64((*uint64)(p), uint64(regs[in.src&15])) - uint64(regs[in.src&15]))
		case opAtomicFetchOr64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomic.OrUint64((*uint64)(p), uint64(regs[in.src&15])))
		case opAtomicFetchAnd64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomic.AndUint64((*uint64)(p), uint64(regs[in.src&15])))
		case opAtomicFetchXor64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomicXorUint64((*uint64)(p), uint64(regs[in.src&15])))
		case opAtomicXchg64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.src&15] = uint64(atomic.SwapUint64((*uint64)(p), uint64(regs[in.src&15])))
		case opAtomicCmpXchg64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[0] = uint64(atomicCmpXchgUint64((*uint64)(p), uint64(regs[0]), uint64(regs[in.src&15])))
		case opLoadAcqB:
			p := m.orderedAccess(regs[in.src&15]+uint64(in.off), 1, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.dst&15] = uint64(loadU8(p))
		case opLoadAcqH:
			p := m.orderedAccess(regs[in.src&15]+uint64(in.off), 2, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.dst&15] = uint64(loadU16(p))
		case opLoadAcqW:
			p := m.orderedAccess(regs[in.src&15]+uint64(in.off), 4, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.dst&15] = uint64(atomic.LoadUint32((*uint32)(p)))
		case opLoadAcqDW:
			p := m.orderedAccess(regs[in.src&15]+uint64(in.off), 8, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			regs[in.dst&15] = atomic.LoadUint64((*uint64)(p))
		case opStoreRelB:
			p := m.orderedAccess(regs[in.dst&15]+uint64(in.off), 1, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			storeU8(p, uint8(regs[in.src&15]))
		case opStoreRelH:
			p := m.orderedAccess(regs[in.dst&15]+uint64(in.off), 2, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			storeU16(p, uint16(regs[in.src&15]))
		case opStoreRelW:
			p := m.orderedAccess(regs[in.dst&15]+uint64(in.off), 4, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomic.StoreUint32((*uint32)(p), uint32(regs[in.src&15]))
		case opStoreRelDW:
			p := m.orderedAccess(regs[in.dst&15]+uint64(in.off), 8, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1, steps), false
			}
			atomic.StoreUint64((*uint64)(p), regs[in.src&15])
		case opLdAbsB:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(in.imm)), 1)
			if p == nil {
				m.steps = steps
				return 0, nil, false
			}
			regs[0] = uint64(loadU8(p))
		case opLdIndB:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(regs[in.src&15])+uint32(in.imm)), 1)
			if p == nil {
				m.steps = steps
				return 0, nil, false
			}
			regs[0] = uint64(loadU8(p))
		case opLdAbsH:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(in.imm)), 2)
			if p == nil {
				m.steps = steps
				return 0, nil, false
			}
			regs[0] = uint64(bits.ReverseBytes16(loadU16(p)))
		case opLdIndH:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(regs[in.src&15])+uint32(in.imm)), 2)
			if p == nil {
				m.steps = steps
				return 0, nil, false
			}
			regs[0] = uint64(bits.ReverseBytes16(loadU16(p)))
		case opLdAbsW:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(in.imm)), 4)
			if p == nil {
				m.steps = steps
				return 0, nil, false
			}
			regs[0] = uint64(bits.ReverseBytes32(loadU32(p)))
		case opLdIndW:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(regs[in.src&15])+uint32(in.imm)), 4)
			if p == nil {
				m.steps = steps
				return 0, nil, false
			}
			regs[0] = uint64(bits.ReverseBytes32(loadU32(p)))
		case opJA:
			pc = int(in.off)
		case opMayGoto:
			if m.mayGoto == 0 {
				pc = int(in.off)
			} else {
				m.mayGoto--
			}
		case opJEq64K:
			if regs[in.dst&15] == uint64(in.imm) {
				pc = int(in.off)
			}
		case opJNE64K:
			if regs[in.dst&15] != uint64(in.imm) {
				pc = int(in.off)
			}
		case opJGT64K:
			if regs[in.dst&15] > uint64(in.imm) {
				pc = int(in.off)
			}
		case opJGE64K:
			if regs[in.dst&15] >= uint64(in.imm) {
				pc = int(in.off)
			}
		case opJLT64K:
			if regs[in.dst&15] < uint64(in.imm) {
				pc = int(in.off)
			}
		case opJLE64K:
			if regs[in.dst&15] <= uint64(in.imm) {
				pc = int(in.off)
			}
		case opJSet64K:
			if regs[in.dst&15]&uint64(in.imm) != 0 {
				pc = int(in.off)
			}
		case opJSGT64K:
			if int64(regs[in.dst&15]) > int64(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJSGE64K:
			if int64(regs[in.dst&15]) >= int64(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJSLT64K:
			if int64(regs[in.dst&15]) < int64(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJSLE64K:
			if int64(regs[in.dst&15]) <= int64(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJEq64X:
			if regs[in.dst&15] == regs[in.src&15] {
				pc = int(in.off)
			}
		case opJNE64X:
			if regs[in.dst&15] != regs[in.src&15] {
				pc = int(in.off)
			}
		case opJGT64X:
			if regs[in.dst&15] > regs[in.src&15] {
				pc = int(in.off)
			}
		case opJGE64X:
			if regs[in.dst&15] >= regs[in.src&15] {
				pc = int(in.off)
			}
		case opJLT64X:
			if regs[in.dst&15] < regs[in.src&15] {
				pc = int(in.off)
			}
		case opJLE64X:
			if regs[in.dst&15] <= regs[in.src&15] {
				pc = int(in.off)
			}
		case opJSet64X:
			if regs[in.dst&15]&regs[in.src&15] != 0 {
				pc = int(in.off)
			}
		case opJSGT64X:
			if int64(regs[in.dst&15]) > int64(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJSGE64X:
			if int64(regs[in.dst&15]) >= int64(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJSLT64X:
			if int64(regs[in.dst&15]) < int64(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJSLE64X:
			if int64(regs[in.dst&15]) <= int64(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJEq32K:
			if uint32(regs[in.dst&15]) == uint32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJNE32K:
			if uint32(regs[in.dst&15]) != uint32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJGT32K:
			if uint32(regs[in.dst&15]) > uint32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJGE32K:
			if uint32(regs[in.dst&15]) >= uint32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJLT32K:
			if uint32(regs[in.dst&15]) < uint32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJLE32K:
			if uint32(regs[in.dst&15]) <= uint32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJSet32K:
			if uint32(regs[in.dst&15])&uint32(uint64(in.imm)) != 0 {
				pc = int(in.off)
			}
		case opJSGT32K:
			if int32(regs[in.dst&15]) > int32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJSGE32K:
			if int32(regs[in.dst&15]) >= int32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJSLT32K:
			if int32(regs[in.dst&15]) < int32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJSLE32K:
			if int32(regs[in.dst&15]) <= int32(uint64(in.imm)) {
				pc = int(in.off)
			}
		case opJEq32X:
			if uint32(regs[in.dst&15]) == uint32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJNE32X:
			if uint32(regs[in.dst&15]) != uint32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJGT32X:
			if uint32(regs[in.dst&15]) > uint32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJGE32X:
			if uint32(regs[in.dst&15]) >= uint32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJLT32X:
			if uint32(regs[in.dst&15]) < uint32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJLE32X:
			if uint32(regs[in.dst&15]) <= uint32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJSet32X:
			if uint32(regs[in.dst&15])&uint32(regs[in.src&15]) != 0 {
				pc = int(in.off)
			}
		case opJSGT32X:
			if int32(regs[in.dst&15]) > int32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJSGE32X:
			if int32(regs[in.dst&15]) >= int32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJSLT32X:
			if int32(regs[in.dst&15]) < int32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opJSLE32X:
			if int32(regs[in.dst&15]) <= int32(regs[in.src&15]) {
				pc = int(in.off)
			}
		case opCall, opCallX:
			var h *helper.Helper
			if in.op == opCall {
				h = &p0.helpers[in.imm]
			} else if id := regs[in.dst&15]; id <= math.MaxInt32 {
				h = p0.callx[int32(id)]
			}
			if h == nil {
				m.steps = steps
				return 0, p0.errAt(pc-1, fmt.Errorf("callx: r%d = %#x is not the ID of a helper available to this program", in.dst, regs[in.dst&15])), false
			}
			m.steps = steps
			r, err := p0.callHelper(m, h, regs)
			steps = m.steps
			if err != nil {
				tc, ok := err.(*helper.TailCall)
				if !ok {
					m.steps = steps
					r, err = p0.helperEnd(r, err, pc-1)
					return r, err, false
				}
				target, ok := tc.Target.(*Program)
				if !ok || m.tailCalls >= helper.MaxTailCalls {
					regs[0] = 0
					break
				}
				// The target replaces this frame's program, keeps r1
				// (the context) and the frame's stack.
				m.tailCalls++
				regs[0], regs[2], regs[3], regs[4], regs[5] = 0, 0, 0, 0, 0
				m.prog, m.steps = target, steps
				return 0, nil, true
			}
			regs[0] = r
		case opCallLocal:
			if m.depth+1 >= engine.MaxFrames {
				m.steps = steps
				return 0, p0.errAt(pc-1, engine.ErrCallDepth), false
			}
			f := &m.frames[m.depth]
			f.ret = pc
			f.prog = p0
			f.saved = [4]uint64{regs[6], regs[7], regs[8], regs[9]}
			m.setDepth(m.depth + 1)
			regs[10] -= engine.StackSize
			pc = int(in.off)
		case opExit:
			if m.depth == base {
				m.steps = steps
				return regs[0], nil, false
			}
			m.setDepth(m.depth - 1)
			f := &m.frames[m.depth]
			regs[6], regs[7], regs[8], regs[9] = f.saved[0], f.saved[1], f.saved[2], f.saved[3]
			regs[10] += engine.StackSize
			pc = f.ret
			if f.prog != p0 {
				// Returning into the caller of a subprogram that tail-called.
				m.prog, m.steps = f.prog, steps
				return uint64(pc), nil, true
			}
		case opInvalid:
			m.steps = steps
			return 0, p0.errAt(pc-1, fmt.Errorf("executed the second slot of an lddw")), false
		}
	}
}
