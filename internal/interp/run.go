package interp

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"

	"github.com/waggle-ebpf/waggle/internal/memory"
)

// Run executes the program on m from its first instruction and returns r0.
// The regions in m.Memory must stay valid for the run.
func (p0 *Program) Run(m *Machine, args RunArgs) (uint64, error) {
	var regs [16]uint64
	regs[1], regs[2], regs[3], regs[4], regs[5] = args.R1, args.R2, args.R3, args.R4, args.R5
	m.setDepth(0)
	regs[10] = m.stackTop
	m.call.Context = args.Context
	if m.call.Context == nil {
		m.call.Context = context.Background()
	}
	m.fault = nil

	budget := args.Budget
	if budget == 0 {
		budget = DefaultBudget
	}
	steps := min(budget, checkInterval)
	budget -= steps

	code := p0.code
	pc := 0
	for {
		if steps == 0 {
			if budget == 0 {
				return 0, p0.errAt(pc, ErrBudgetExhausted)
			}
			if args.Context != nil {
				if err := args.Context.Err(); err != nil {
					return 0, p0.errAt(pc, err)
				}
			}
			steps = min(budget, checkInterval)
			budget -= steps
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
			p := m.access(regs[in.src&15]+uint64(in.off), 1, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.dst&15] = uint64(*(*uint8)(p))
		case opLdxH:
			p := m.access(regs[in.src&15]+uint64(in.off), 2, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.dst&15] = uint64(*(*uint16)(p))
		case opLdxW:
			p := m.access(regs[in.src&15]+uint64(in.off), 4, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.dst&15] = uint64(*(*uint32)(p))
		case opLdxDW:
			p := m.access(regs[in.src&15]+uint64(in.off), 8, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.dst&15] = *(*uint64)(p)
		case opLdxSB:
			p := m.access(regs[in.src&15]+uint64(in.off), 1, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.dst&15] = uint64(int64(*(*int8)(p)))
		case opLdxSH:
			p := m.access(regs[in.src&15]+uint64(in.off), 2, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.dst&15] = uint64(int64(*(*int16)(p)))
		case opLdxSW:
			p := m.access(regs[in.src&15]+uint64(in.off), 4, memory.Read)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.dst&15] = uint64(int64(*(*int32)(p)))
		case opStB:
			p := m.access(regs[in.dst&15]+uint64(in.off), 1, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			*(*uint8)(p) = uint8(in.imm)
		case opStxB:
			p := m.access(regs[in.dst&15]+uint64(in.off), 1, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			*(*uint8)(p) = uint8(regs[in.src&15])
		case opStH:
			p := m.access(regs[in.dst&15]+uint64(in.off), 2, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			*(*uint16)(p) = uint16(in.imm)
		case opStxH:
			p := m.access(regs[in.dst&15]+uint64(in.off), 2, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			*(*uint16)(p) = uint16(regs[in.src&15])
		case opStW:
			p := m.access(regs[in.dst&15]+uint64(in.off), 4, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			*(*uint32)(p) = uint32(in.imm)
		case opStxW:
			p := m.access(regs[in.dst&15]+uint64(in.off), 4, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			*(*uint32)(p) = uint32(regs[in.src&15])
		case opStDW:
			p := m.access(regs[in.dst&15]+uint64(in.off), 8, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			*(*uint64)(p) = uint64(in.imm)
		case opStxDW:
			p := m.access(regs[in.dst&15]+uint64(in.off), 8, memory.Write)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			*(*uint64)(p) = uint64(regs[in.src&15])
		case opAtomicAdd32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			atomic.AddUint32((*uint32)(p), uint32(regs[in.src&15]))
		case opAtomicOr32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			atomic.OrUint32((*uint32)(p), uint32(regs[in.src&15]))
		case opAtomicAnd32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			atomic.AndUint32((*uint32)(p), uint32(regs[in.src&15]))
		case opAtomicXor32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			atomicXorUint32((*uint32)(p), uint32(regs[in.src&15]))
		case opAtomicFetchAdd32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomic.AddUint32((*uint32)(p), uint32(regs[in.src&15])) - uint32(regs[in.src&15]))
		case opAtomicFetchOr32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomic.OrUint32((*uint32)(p), uint32(regs[in.src&15])))
		case opAtomicFetchAnd32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomic.AndUint32((*uint32)(p), uint32(regs[in.src&15])))
		case opAtomicFetchXor32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomicXorUint32((*uint32)(p), uint32(regs[in.src&15])))
		case opAtomicXchg32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomic.SwapUint32((*uint32)(p), uint32(regs[in.src&15])))
		case opAtomicCmpXchg32:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 4)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[0] = uint64(atomicCmpXchgUint32((*uint32)(p), uint32(regs[0]), uint32(regs[in.src&15])))
		case opAtomicAdd64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			atomic.AddUint64((*uint64)(p), uint64(regs[in.src&15]))
		case opAtomicOr64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			atomic.OrUint64((*uint64)(p), uint64(regs[in.src&15]))
		case opAtomicAnd64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			atomic.AndUint64((*uint64)(p), uint64(regs[in.src&15]))
		case opAtomicXor64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			atomicXorUint64((*uint64)(p), uint64(regs[in.src&15]))
		case opAtomicFetchAdd64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomic.AddUint64((*uint64)(p), uint64(regs[in.src&15])) - uint64(regs[in.src&15]))
		case opAtomicFetchOr64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomic.OrUint64((*uint64)(p), uint64(regs[in.src&15])))
		case opAtomicFetchAnd64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomic.AndUint64((*uint64)(p), uint64(regs[in.src&15])))
		case opAtomicFetchXor64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomicXorUint64((*uint64)(p), uint64(regs[in.src&15])))
		case opAtomicXchg64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[in.src&15] = uint64(atomic.SwapUint64((*uint64)(p), uint64(regs[in.src&15])))
		case opAtomicCmpXchg64:
			p := m.atomicAccess(regs[in.dst&15]+uint64(in.off), 8)
			if p == nil {
				return 0, p0.faulted(m, pc-1)
			}
			regs[0] = uint64(atomicCmpXchgUint64((*uint64)(p), uint64(regs[0]), uint64(regs[in.src&15])))
		case opLdAbsB:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(in.imm)), 1)
			if p == nil {
				return 0, nil
			}
			regs[0] = uint64(*(*uint8)(p))
		case opLdIndB:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(regs[in.src&15])+uint32(in.imm)), 1)
			if p == nil {
				return 0, nil
			}
			regs[0] = uint64(*(*uint8)(p))
		case opLdAbsH:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(in.imm)), 2)
			if p == nil {
				return 0, nil
			}
			regs[0] = uint64(bits.ReverseBytes16(*(*uint16)(p)))
		case opLdIndH:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(regs[in.src&15])+uint32(in.imm)), 2)
			if p == nil {
				return 0, nil
			}
			regs[0] = uint64(bits.ReverseBytes16(*(*uint16)(p)))
		case opLdAbsW:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(in.imm)), 4)
			if p == nil {
				return 0, nil
			}
			regs[0] = uint64(bits.ReverseBytes32(*(*uint32)(p)))
		case opLdIndW:
			p := m.Packet.Pointer(m.Packet.Start+uint64(uint32(regs[in.src&15])+uint32(in.imm)), 4)
			if p == nil {
				return 0, nil
			}
			regs[0] = uint64(bits.ReverseBytes32(*(*uint32)(p)))
		case opJA:
			pc = int(in.off)
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
		case opCall:
			r, err := p0.callHelper(m, &p0.helpers[in.imm], &regs)
			if err != nil {
				return p0.helperEnd(r, err, pc-1)
			}
			regs[0] = r
		case opCallX:
			h, ok := p0.table.Lookup(int32(regs[in.dst&15]))
			if !ok || regs[in.dst&15] > math.MaxInt32 {
				return 0, p0.errAt(pc-1, fmt.Errorf("callx: r%d = %#x is not the ID of a helper available to this program", in.dst, regs[in.dst&15]))
			}
			r, err := p0.callHelper(m, &h, &regs)
			if err != nil {
				return p0.helperEnd(r, err, pc-1)
			}
			regs[0] = r
		case opCallLocal:
			if m.depth+1 >= MaxFrames {
				return 0, p0.errAt(pc-1, ErrCallDepth)
			}
			f := &m.frames[m.depth]
			f.ret = pc
			f.saved = [4]uint64{regs[6], regs[7], regs[8], regs[9]}
			m.setDepth(m.depth + 1)
			regs[10] -= StackSize
			pc = int(in.off)
		case opExit:
			if m.depth == 0 {
				return regs[0], nil
			}
			m.setDepth(m.depth - 1)
			f := &m.frames[m.depth]
			regs[6], regs[7], regs[8], regs[9] = f.saved[0], f.saved[1], f.saved[2], f.saved[3]
			regs[10] += StackSize
			pc = f.ret
		case opInvalid:
			return 0, p0.errAt(pc-1, fmt.Errorf("executed the second slot of an lddw"))
		}
	}
}
