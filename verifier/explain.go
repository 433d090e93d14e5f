package verifier

import (
	"fmt"
	"math"
	"strings"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/isa"
)

// The kernel's names of register types, as its verifier log prints them.
func (v *verifier) kernelTypeOf(t regType) string {
	switch t {
	case regNotInit:
		return "?"
	case regScalar:
		return "scalar"
	case regCtx:
		return "ctx"
	case regStack:
		return "fp"
	case regMapPtr:
		return "map_ptr"
	case regMapValue:
		return "map_value"
	case regMapKey:
		return "map_key"
	case regPacket:
		return "pkt"
	case regPacketMeta:
		return "pkt_meta"
	case regPacketEnd:
		return "pkt_end"
	case regMem:
		return "mem"
	case regFunc:
		return "func"
	case regSock:
		return "sock_common"
	}
	return "?"
}

func (v *verifier) kernelType(r *reg) string {
	s := v.kernelTypeOf(r.typ)
	if r.typ == regSock && r.flags&flagFullSock != 0 {
		s = "sock"
	}
	if r.flags&flagRingbuf != 0 {
		s = "ringbuf_" + s
	}
	if r.flags&flagRdonly != 0 {
		s = "rdonly_" + s
	}
	if r.maybeNull() {
		s += "_or_null"
	}
	return s
}

// kernelTnum prints a tnum as the kernel's alignment messages do.
func kernelTnum(t tnum) string {
	if t.isConst() {
		return fmt.Sprintf("%d", int64(t.v))
	}
	return fmt.Sprintf("(%#x; %#x)", t.v, t.m)
}

// kernelNum prints a number as the kernel's log does.
func kernelNum(v uint64) string {
	if v <= 0xffff {
		return fmt.Sprintf("%d", v)
	}
	if s := int64(v); s < 0 && s >= -0xffff {
		return fmt.Sprintf("%d", s)
	}
	return fmt.Sprintf("%#x", v)
}

// kernelScalarBounds prints the bounds that differ from unbounded, the
// kernel's way: "smin=smin32=0,smax=umax=255,var_off=(0x0; 0xff)".
func kernelScalarBounds(s scalar) string {
	type field struct {
		name string
		val  uint64
		def  bool
	}
	fs := []field{
		{"smin", uint64(s.smin), s.smin == math.MinInt64},
		{"smax", uint64(s.smax), s.smax == math.MaxInt64},
		{"umin", s.umin, s.umin == 0},
		{"umax", s.umax, s.umax == math.MaxUint64},
		{"smin32", uint64(int64(s.s32min)), s.s32min == math.MinInt32},
		{"smax32", uint64(int64(s.s32max)), s.s32max == math.MaxInt32},
		{"umin32", uint64(s.u32min), s.u32min == 0},
		{"umax32", uint64(s.u32max), s.u32max == math.MaxUint32},
	}
	done := make([]bool, len(fs))
	var parts []string
	for i, f := range fs {
		if done[i] || f.def {
			continue
		}
		names := []string{f.name}
		for j := i + 1; j < len(fs); j++ {
			if !done[j] && !fs[j].def && fs[j].val == f.val {
				names = append(names, fs[j].name)
				done[j] = true
			}
		}
		parts = append(parts, strings.Join(names, "=")+"="+kernelNum(f.val))
	}
	if s.t != tnumUnknown && !s.t.isConst() {
		parts = append(parts, fmt.Sprintf("var_off=(%#x; %#x)", s.t.v, s.t.m))
	}
	if len(parts) == 0 {
		return "unknown scalar value"
	}
	return strings.Join(parts, ",")
}

// kernelReg prints a register as the kernel's log does.
func (v *verifier) kernelReg(r *reg) string {
	switch r.typ {
	case regNotInit:
		return "?"
	case regScalar:
		if r.s.isConst() {
			return kernelNum(r.s.t.v)
		}
		var parts []string
		if r.id != 0 {
			parts = append(parts, fmt.Sprintf("id=%d", r.id))
		}
		if b := kernelScalarBounds(r.s); b != "unknown scalar value" {
			parts = append(parts, b)
		}
		return "scalar(" + strings.Join(parts, ",") + ")"
	case regStack:
		return fmt.Sprintf("fp%d", r.off)
	}
	var parts []string
	if r.id != 0 {
		parts = append(parts, fmt.Sprintf("id=%d", r.id))
	}
	if r.ref != 0 {
		parts = append(parts, fmt.Sprintf("ref_obj_id=%d", r.ref))
	}
	if r.off != 0 {
		parts = append(parts, fmt.Sprintf("off=%d", r.off))
	}
	switch r.typ {
	case regMapPtr, regMapValue, regMapKey:
		if r.aux >= 0 && int(r.aux) < len(v.maps) {
			m := v.maps[r.aux]
			parts = append(parts, fmt.Sprintf("map=%s,ks=%d,vs=%d", m.Name, m.KeySize, m.ValueSize))
		}
	case regPacket, regPacketMeta:
		if r.size != 0 {
			parts = append(parts, fmt.Sprintf("r=%d", r.size))
		}
	case regMem:
		parts = append(parts, fmt.Sprintf("sz=%d", r.size))
	}
	if r.hasVarOff() {
		parts = append(parts, kernelScalarBounds(r.s))
	}
	return v.kernelType(r) + "(" + strings.Join(parts, ",") + ")"
}

// valueWords describes the value of a scalar.
func (v *verifier) valueWords(r *reg) string {
	s := r.s
	if s.isConst() {
		if int64(s.t.v) < 0 && int64(s.t.v) > -1<<32 {
			return fmt.Sprintf("the constant %d", int64(s.t.v))
		}
		return fmt.Sprintf("the constant %s", kernelNum(s.t.v))
	}
	if s.isUnknown() {
		return "an unknown number"
	}
	var parts []string
	if s.umin != 0 || s.umax != math.MaxUint64 {
		if s.umax <= math.MaxInt64 || s.smin >= 0 {
			parts = append(parts, fmt.Sprintf("between %s and %s", kernelNum(s.umin), kernelNum(s.umax)))
		}
	}
	if (s.smin != math.MinInt64 || s.smax != math.MaxInt64) && (s.smin < 0 || len(parts) == 0) {
		parts = append(parts, fmt.Sprintf("between %d and %d (signed)", s.smin, s.smax))
	}
	if len(parts) == 0 {
		if s.u32max != math.MaxUint32 || s.u32min != 0 {
			parts = append(parts, fmt.Sprintf("with low 32 bits between %d and %d", s.u32min, s.u32max))
		} else {
			parts = append(parts, fmt.Sprintf("with known bits %s", s.t))
		}
	}
	return "a number " + strings.Join(parts, ", ")
}

// typeWords describes a register's value in plain words.
func (v *verifier) typeWords(r *reg) string {
	switch r.typ {
	case regNotInit:
		return "nothing (never written)"
	case regScalar:
		return v.valueWords(r)
	case regCtx:
		return "the context" + v.offWords(r)
	case regStack:
		s := fmt.Sprintf("a pointer to the stack at fp%+d", r.off)
		if int(r.frame) != len(v.cur.frames)-1 {
			s = fmt.Sprintf("a pointer to the stack of frame %d at fp%+d", r.frame, r.off)
		}
		if r.hasVarOff() {
			s += " plus " + v.valueWords(&reg{typ: regScalar, s: r.s})
		}
		return s
	case regMapPtr:
		return fmt.Sprintf("map %s", v.mapName(r.aux))
	case regMapValue:
		m := v.mapOf(r.aux)
		s := fmt.Sprintf("a pointer to a value of map %s (%d bytes)%s", m.Name, m.ValueSize, v.offWords(r))
		if r.maybeNull() {
			s += " or NULL"
		}
		return s
	case regMapKey:
		m := v.mapOf(r.aux)
		return fmt.Sprintf("a pointer to a key of map %s (%d bytes)%s", m.Name, m.KeySize, v.offWords(r))
	case regPacket, regPacketMeta:
		what := "the packet"
		if r.typ == regPacketMeta {
			what = "the packet's metadata"
		}
		if v.raw {
			what = "the memory"
		}
		s := fmt.Sprintf("a pointer into %s%s", what, v.offWords(r))
		switch {
		case r.size > 0:
			s += fmt.Sprintf(", with %d bytes known to be there from its start", r.size)
		case r.size == rangeAtEnd:
			s += ", known to be at its end"
		case r.size == rangeBeyondEnd:
			s += ", known to be past its end"
		default:
			s += ", with no bytes known to be there"
		}
		return s
	case regPacketEnd:
		if v.raw {
			return "the end of the memory"
		}
		return "the end of the packet (data_end)"
	case regMem:
		s := fmt.Sprintf("a pointer to %d bytes of memory%s", r.size, v.offWords(r))
		if r.flags&flagRingbuf != 0 {
			s = fmt.Sprintf("a ring buffer record of %d bytes%s", r.size, v.offWords(r))
		}
		if r.maybeNull() {
			s += " or NULL"
		}
		return s
	case regFunc:
		return fmt.Sprintf("the function at instruction %d", v.prog.subprogs[r.aux].start)
	case regSock:
		if r.maybeNull() {
			return "a socket pointer or NULL"
		}
		return "a socket pointer"
	}
	return "?"
}

func (v *verifier) offWords(r *reg) string {
	s := ""
	if r.off != 0 {
		s = fmt.Sprintf(" at offset %d", r.off)
	}
	if r.hasVarOff() {
		s += " plus " + v.valueWords(&reg{typ: regScalar, s: r.s})
	}
	return s
}

func (v *verifier) mapOf(i int32) *Map {
	if i >= 0 && int(i) < len(v.maps) {
		return v.maps[i]
	}
	return &Map{Name: "?"}
}

func (v *verifier) mapName(i int32) string {
	m := v.mapOf(i)
	if m.Name == "" {
		return fmt.Sprintf("#%d", i)
	}
	return m.Name
}

// originNote says where a value was made, when known.
func (v *verifier) originNote(r *reg) string {
	if r.origin < 0 || int(r.origin) >= len(v.prog.insns) {
		return ""
	}
	ins := v.prog.insns[r.origin]
	what := ""
	switch {
	case ins.IsHelperCall():
		what = helper.Name(int32(ins.Imm))
	case ins.Class() == isa.ClassLDX, ins.IsLoadAcquire():
		what = "the load"
	case ins.IsLocalCall():
		what = "the function call"
	default:
		what = "the instruction"
	}
	s := fmt.Sprintf(": %s at instruction %d%s", what, r.origin, v.lineNote(int(r.origin)))
	if r.maybeNull() {
		s += " can return NULL"
	}
	return s
}

// lineNote gives the source line of an instruction, if known.
func (v *verifier) lineNote(insn int) string {
	if v.p.Source == nil || insn < 0 {
		return ""
	}
	if s := v.p.Source(insn); s != "" {
		return " (" + s + ")"
	}
	return ""
}

// describeReg states a register's value for an Error.
func (v *verifier) describeReg(r isa.Register, rg *reg) string {
	s := fmt.Sprintf("%s = %s [kernel: R%d=%s]", regName(r), v.typeWords(rg), r, v.kernelReg(rg))
	if rg.origin >= 0 && rg.typ != regNotInit && int(rg.origin) < len(v.prog.insns) {
		s += fmt.Sprintf(", set at instruction %d%s", rg.origin, v.lineNote(int(rg.origin)))
	}
	return s
}

// stateString prints a state the kernel's way, for the log.
func (v *verifier) stateString(st *state) string {
	var parts []string
	for fi, f := range st.frames {
		prefix := ""
		if len(st.frames) > 1 {
			prefix = fmt.Sprintf("frame%d: ", fi)
			parts = append(parts, prefix)
		}
		for i := range f.regs {
			r := &f.regs[i]
			if r.typ == regNotInit {
				continue
			}
			if i == 10 {
				parts = append(parts, "R10=fp0")
				continue
			}
			parts = append(parts, fmt.Sprintf("R%d=%s", i, v.kernelReg(r)))
		}
		for spi := range f.stack {
			s := &f.stack[spi]
			off := -(spi + 1) * regSize
			if n, ok := s.spilled(); ok {
				w := ""
				if n < regSize {
					w = fmt.Sprintf("(%d)", n)
				}
				parts = append(parts, fmt.Sprintf("fp%d%s=%s", off, w, v.kernelReg(&s.spill)))
				continue
			}
			var b strings.Builder
			any := false
			for k := regSize - 1; k >= 0; k-- {
				c := byte('?')
				switch s.kind[k] {
				case stMisc:
					c, any = 'm', true
				case stZero:
					c, any = '0', true
				case stSpill:
					c, any = 'r', true
				}
				b.WriteByte(c)
			}
			if any {
				parts = append(parts, fmt.Sprintf("fp%d=%s", off, b.String()))
			}
		}
	}
	return strings.Join(parts, " ")
}

// logInsn prints an instruction and the state after it (log level 2).
func (v *verifier) logInsn(insn int) {
	ins := v.prog.insns[insn]
	if v.p.Source != nil {
		if src := v.p.Source(insn); src != "" && src != v.lastSource {
			fmt.Fprintf(v.log, "; %s\n", src)
			v.lastSource = src
		}
	}
	fmt.Fprintf(v.log, "%d: (%02x) %s ; %s\n", insn, ins.Opcode, ins, v.stateString(v.cur))
}
