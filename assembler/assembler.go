package assembler

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/waggle-ebpf/waggle/isa"
)

// Error reports a line that cannot be assembled.
type Error struct {
	Line   int    // 1-based line number in the source
	Text   string // the line, without its comment and surrounding space
	Reason string // what is wrong, quoting the offending operand or name
}

// Error formats the error as "line N: reason".
func (e *Error) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Assemble assembles a program written in the bpf_conformance assembler
// syntax (see the package documentation). It returns the first error, an
// *Error. An empty program is no error: it assembles to no instructions.
func Assemble(src string) (isa.Instructions, error) {
	a := assembler{labels: make(map[string]label)}
	for n, line := range strings.Split(src, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		a.line = lineInfo{number: n + 1, text: line}
		if err := a.assembleLine(line); err != nil {
			return nil, err
		}
	}
	if err := a.resolve(); err != nil {
		return nil, err
	}
	return a.insns, nil
}

// label is where a label points.
type label struct {
	slot int
	line int
}

// lineInfo is the source line being assembled.
type lineInfo struct {
	number int
	text   string
}

// fixupField is the field of an instruction that a label reference fills.
type fixupField int

const (
	fixOffset fixupField = iota // a jump's 16-bit offset
	fixImm                      // ja32 or a local call: the 32-bit immediate
	fixImmLow                   // lddw func: the low half of the constant
)

// fixup is a label reference to resolve once every label is known.
type fixup struct {
	index int // instruction index
	slot  int // its slot
	name  string
	field fixupField
	line  lineInfo
}

type assembler struct {
	insns     isa.Instructions
	slots     int
	labels    map[string]label
	firstExit int // slot of the first exit instruction, plus one; 0 if none
	fixups    []fixup
	line      lineInfo
}

func (a *assembler) errorf(format string, args ...any) *Error {
	return &Error{Line: a.line.number, Text: a.line.text, Reason: fmt.Sprintf(format, args...)}
}

func (a *assembler) assembleLine(line string) error {
	mnemonic, rest := cutSpace(line)
	if name, ok := strings.CutSuffix(mnemonic, ":"); ok {
		if !validLabel(name) {
			return a.errorf("invalid label name %q", name)
		}
		if prev, dup := a.labels[name]; dup {
			return a.errorf("label %q is already defined at line %d", name, prev.line)
		}
		a.labels[name] = label{slot: a.slots, line: a.line.number}
		if rest == "" {
			return nil
		}
		mnemonic, rest = cutSpace(rest)
	}
	operands, err := splitOperands(rest)
	if err != nil {
		return a.errorf("%s", err)
	}
	ins, err := a.encode(mnemonic, operands)
	if err != nil {
		return err
	}
	if ins.Opcode == isa.OpExit && a.firstExit == 0 {
		a.firstExit = a.slots + 1
	}
	a.insns = append(a.insns, ins)
	a.slots += ins.Slots()
	return nil
}

// cutSpace splits s at its first run of white space.
func cutSpace(s string) (first, rest string) {
	i := strings.IndexAny(s, " \t\r\v\f")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// validLabel reports whether name can be a label: letters, digits, '_', '.'
// and '$', not starting with a sign.
func validLabel(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '$':
		default:
			return false
		}
	}
	return true
}

// splitOperands splits the operand text at commas and white space, keeping a
// bracketed memory operand whole (without its inner spaces).
func splitOperands(s string) ([]string, error) {
	var operands []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			operands = append(operands, cur.String())
			cur.Reset()
		}
	}
	inBracket := false
	for _, c := range s {
		switch {
		case inBracket:
			if c == ']' {
				inBracket = false
				cur.WriteRune(c)
				flush()
			} else if c != ' ' && c != '\t' {
				cur.WriteRune(c)
			}
		case c == '[':
			flush()
			inBracket = true
			cur.WriteRune(c)
		case c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			flush()
		default:
			cur.WriteRune(c)
		}
	}
	if inBracket {
		return nil, fmt.Errorf("memory operand %q has no closing ']'", cur.String())
	}
	flush()
	return operands, nil
}

// resolve fills in the label references.
func (a *assembler) resolve() error {
	for _, f := range a.fixups {
		a.line = f.line
		target, ok := a.labels[f.name]
		switch {
		case ok:
		case f.name == "exit" && a.firstExit != 0:
			target.slot = a.firstExit - 1
		default:
			return a.errorf("label %q is not defined", f.name)
		}
		off := int64(target.slot - f.slot - 1)
		ins := &a.insns[f.index]
		switch f.field {
		case fixOffset:
			if off < math.MinInt16 || off > math.MaxInt16 {
				return a.errorf("label %q is %d slots away, too far for a 16-bit jump offset", f.name, off)
			}
			ins.Offset = int16(off)
		case fixImm:
			ins.Imm = off
		case fixImmLow:
			ins.Imm = int64(uint64(ins.Imm)&^0xffffffff | uint64(uint32(int32(off))))
		}
	}
	return nil
}

// wantOperands checks the operand count.
func (a *assembler) wantOperands(mnemonic string, operands []string, n int) error {
	if len(operands) == n {
		return nil
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return a.errorf("%s takes %d operand%s, got %d", mnemonic, n, plural, len(operands))
}

// The ALU operations by conformance name.
var aluOps = map[string]uint8{
	"add": isa.ALUAdd, "sub": isa.ALUSub, "mul": isa.ALUMul, "div": isa.ALUDiv, "sdiv": isa.ALUDiv,
	"or": isa.ALUOr, "and": isa.ALUAnd, "lsh": isa.ALULsh, "rsh": isa.ALURsh, "mod": isa.ALUMod,
	"smod": isa.ALUMod, "xor": isa.ALUXor, "mov": isa.ALUMov, "arsh": isa.ALUArsh,
}

// The conditional jumps by conformance name.
var jumpOps = map[string]uint8{
	"jeq": isa.JumpEq, "jgt": isa.JumpGT, "jge": isa.JumpGE, "jset": isa.JumpSet, "jne": isa.JumpNE,
	"jsgt": isa.JumpSGT, "jsge": isa.JumpSGE, "jlt": isa.JumpLT, "jle": isa.JumpLE,
	"jslt": isa.JumpSLT, "jsle": isa.JumpSLE,
}

// The movsx mnemonics: class and source width.
var movsxOps = map[string]struct {
	class isa.Class
	from  int16
}{
	"movsx864": {isa.ClassALU64, 8}, "movsx1664": {isa.ClassALU64, 16}, "movsx3264": {isa.ClassALU64, 32},
	"movsx832": {isa.ClassALU, 8}, "movsx1632": {isa.ClassALU, 16},
}

// The atomic operations by conformance name.
var atomicOps = map[string]int32{
	"add": isa.AtomicAdd, "or": isa.AtomicOr, "and": isa.AtomicAnd, "xor": isa.AtomicXor,
	"xchg": isa.AtomicXchg, "cmpxchg": isa.AtomicCmpXchg,
}

// The load and store widths by suffix.
var sizes = map[string]isa.Size{"b": isa.SizeB, "h": isa.SizeH, "w": isa.SizeW, "dw": isa.SizeDW}

// encode assembles one instruction.
func (a *assembler) encode(mnemonic string, operands []string) (isa.Instruction, error) {
	switch mnemonic {
	case "exit":
		return isa.Instruction{Opcode: isa.OpExit}, a.wantOperands(mnemonic, operands, 0)
	case "ja":
		if err := a.wantOperands(mnemonic, operands, 1); err != nil {
			return isa.Instruction{}, err
		}
		off, err := a.target(operands[0], 16, fixOffset)
		return isa.Instruction{Opcode: isa.OpJA, Offset: int16(off)}, err
	case "may_goto":
		if err := a.wantOperands(mnemonic, operands, 1); err != nil {
			return isa.Instruction{}, err
		}
		off, err := a.target(operands[0], 16, fixOffset)
		return isa.Instruction{Opcode: isa.OpJCond, Src: isa.Register(isa.MayGoto), Offset: int16(off)}, err
	case "ja32":
		if err := a.wantOperands(mnemonic, operands, 1); err != nil {
			return isa.Instruction{}, err
		}
		off, err := a.target(operands[0], 32, fixImm)
		return isa.Instruction{Opcode: isa.OpJA32, Imm: off}, err
	case "call", "callx":
		return a.encodeCall(mnemonic, operands)
	case "lddw":
		return a.encodeLdDW(operands)
	case "lock":
		return a.encodeAtomic(operands)
	case ".raw", ".invalid":
		return a.encodeRaw(mnemonic, operands)
	}
	if m, ok := movsxOps[mnemonic]; ok {
		if err := a.wantOperands(mnemonic, operands, 2); err != nil {
			return isa.Instruction{}, err
		}
		dst, err := a.register(operands[0])
		if err != nil {
			return isa.Instruction{}, err
		}
		src, err := a.register(operands[1])
		return isa.Instruction{Opcode: uint8(m.class) | isa.ALUMov | isa.SourceX, Dst: dst, Src: src, Offset: m.from}, err
	}
	if ins, ok, err := a.encodeByteSwap(mnemonic, operands); ok {
		return ins, err
	}
	if ins, ok, err := a.encodeMemory(mnemonic, operands); ok {
		return ins, err
	}
	if ins, ok, err := a.encodeALU(mnemonic, operands); ok {
		return ins, err
	}
	if ins, ok, err := a.encodeJump(mnemonic, operands); ok {
		return ins, err
	}
	return isa.Instruction{}, a.errorf("unknown mnemonic %q", mnemonic)
}

// encodeALU assembles the two-operand ALU instructions and neg.
func (a *assembler) encodeALU(mnemonic string, operands []string) (isa.Instruction, bool, error) {
	class := isa.ClassALU64
	base := mnemonic
	if b, ok := strings.CutSuffix(mnemonic, "32"); ok {
		class, base = isa.ClassALU, b
	} else if b, ok := strings.CutSuffix(mnemonic, "64"); ok {
		base = b
	}
	if base == "neg" {
		if err := a.wantOperands(mnemonic, operands, 1); err != nil {
			return isa.Instruction{}, true, err
		}
		dst, err := a.register(operands[0])
		return isa.Instruction{Opcode: uint8(class) | isa.ALUNeg, Dst: dst}, true, err
	}
	op, ok := aluOps[base]
	if !ok {
		return isa.Instruction{}, false, nil
	}
	ins := isa.Instruction{Opcode: uint8(class) | op}
	if base == "sdiv" || base == "smod" {
		ins.Offset = 1
	}
	if err := a.wantOperands(mnemonic, operands, 2); err != nil {
		return ins, true, err
	}
	var err error
	if ins.Dst, err = a.register(operands[0]); err != nil {
		return ins, true, err
	}
	err = a.registerOrImm(&ins, operands[1])
	return ins, true, err
}

// encodeByteSwap assembles le, be, bswap and swap.
func (a *assembler) encodeByteSwap(mnemonic string, operands []string) (isa.Instruction, bool, error) {
	var opcode uint8
	var width string
	switch {
	case strings.HasPrefix(mnemonic, "le"):
		opcode, width = uint8(isa.ClassALU)|isa.ALUEnd|isa.SourceK, mnemonic[2:]
	case strings.HasPrefix(mnemonic, "be"):
		opcode, width = uint8(isa.ClassALU)|isa.ALUEnd|isa.SourceX, mnemonic[2:]
	case strings.HasPrefix(mnemonic, "bswap"):
		opcode, width = uint8(isa.ClassALU64)|isa.ALUEnd, mnemonic[5:]
	case strings.HasPrefix(mnemonic, "swap"):
		opcode, width = uint8(isa.ClassALU64)|isa.ALUEnd, mnemonic[4:]
	default:
		return isa.Instruction{}, false, nil
	}
	var imm int64
	switch width {
	case "16":
		imm = 16
	case "32":
		imm = 32
	case "64":
		imm = 64
	default:
		return isa.Instruction{}, false, nil
	}
	if err := a.wantOperands(mnemonic, operands, 1); err != nil {
		return isa.Instruction{}, true, err
	}
	dst, err := a.register(operands[0])
	return isa.Instruction{Opcode: opcode, Dst: dst, Imm: imm}, true, err
}

// encodeJump assembles the conditional jumps.
func (a *assembler) encodeJump(mnemonic string, operands []string) (isa.Instruction, bool, error) {
	class := isa.ClassJMP
	base := mnemonic
	if b, ok := strings.CutSuffix(mnemonic, "32"); ok {
		class, base = isa.ClassJMP32, b
	}
	op, ok := jumpOps[base]
	if !ok {
		return isa.Instruction{}, false, nil
	}
	ins := isa.Instruction{Opcode: uint8(class) | op}
	if err := a.wantOperands(mnemonic, operands, 3); err != nil {
		return ins, true, err
	}
	var err error
	if ins.Dst, err = a.register(operands[0]); err != nil {
		return ins, true, err
	}
	if err := a.registerOrImm(&ins, operands[1]); err != nil {
		return ins, true, err
	}
	off, err := a.target(operands[2], 16, fixOffset)
	ins.Offset = int16(off)
	return ins, true, err
}

// encodeCall assembles call and callx.
func (a *assembler) encodeCall(mnemonic string, operands []string) (isa.Instruction, error) {
	mode := "helper"
	if mnemonic == "callx" {
		mode = "callx"
	} else if len(operands) == 2 {
		mode, operands = operands[0], operands[1:]
	}
	if len(operands) != 1 {
		return isa.Instruction{}, a.errorf("%s takes a target, or a kind (helper, local, runtime) and a target; got %d operands", mnemonic, len(operands))
	}
	target := operands[0]
	switch target {
	case "helper", "local", "runtime", "kfunc":
		if mode == "helper" {
			return isa.Instruction{}, a.errorf("call %s needs a target", target)
		}
	}
	switch mode {
	case "helper", "callx":
		if strings.HasPrefix(target, "%") || mode == "callx" {
			dst, err := a.register(target)
			return isa.Instruction{Opcode: isa.OpCallX, Dst: dst}, err
		}
		imm, err := a.imm32(target)
		return isa.Instruction{Opcode: isa.OpCall, Src: isa.Register(isa.CallHelper), Imm: imm}, err
	case "local":
		off, err := a.target(target, 32, fixImm)
		return isa.Instruction{Opcode: isa.OpCall, Src: isa.Register(isa.CallLocal), Imm: off}, err
	case "runtime", "kfunc":
		imm, err := a.imm32(target)
		return isa.Instruction{Opcode: isa.OpCall, Src: isa.Register(isa.CallKfunc), Imm: imm}, err
	}
	return isa.Instruction{}, a.errorf("unknown call kind %q: want helper, local, runtime or kfunc", mode)
}

// encodeLdDW assembles lddw, with or without a source kind.
func (a *assembler) encodeLdDW(operands []string) (isa.Instruction, error) {
	if len(operands) < 2 {
		return isa.Instruction{}, a.errorf("lddw takes 2 operands, got %d", len(operands))
	}
	dst, err := a.register(operands[0])
	if err != nil {
		return isa.Instruction{}, err
	}
	ins := isa.Instruction{Opcode: isa.OpLdDW, Dst: dst}
	if len(operands) == 2 {
		ins.Imm, err = a.imm64(operands[1])
		return ins, err
	}
	kind := uint8(0)
	for k := isa.PseudoMapFD; k <= isa.PseudoMapIdxValue; k++ {
		if isa.PseudoName(k) == operands[1] {
			kind = k
		}
	}
	if kind == 0 {
		return ins, a.errorf("unknown lddw source kind %q", operands[1])
	}
	if len(operands) > 4 {
		return ins, a.errorf("lddw %s takes a value and at most one more, got %d operands", operands[1], len(operands)-2)
	}
	ins.Src = isa.Register(kind)
	var lo, hi uint32
	if kind == isa.PseudoFunc {
		off, err := a.target(operands[2], 32, fixImmLow)
		if err != nil {
			return ins, err
		}
		lo = uint32(int32(off))
	} else if lo, err = a.uimm32(operands[2]); err != nil {
		return ins, err
	}
	if len(operands) == 4 {
		if hi, err = a.uimm32(operands[3]); err != nil {
			return ins, err
		}
	}
	ins.Imm = int64(uint64(hi)<<32 | uint64(lo))
	return ins, nil
}

// encodeAtomic assembles "lock [fetch] op[32] [%rD+off], %rS".
func (a *assembler) encodeAtomic(operands []string) (isa.Instruction, error) {
	fetch := len(operands) > 0 && operands[0] == "fetch"
	if fetch {
		operands = operands[1:]
	}
	if len(operands) != 3 {
		return isa.Instruction{}, a.errorf("lock takes [fetch] and an operation, a memory operand and a register; got %d operands", len(operands))
	}
	name := operands[0]
	size := isa.SizeDW
	if b, ok := strings.CutSuffix(name, "32"); ok {
		name, size = b, isa.SizeW
	}
	op, ok := atomicOps[name]
	if !ok {
		return isa.Instruction{}, a.errorf("unknown atomic operation %q", operands[0])
	}
	if fetch {
		op |= isa.AtomicFetch
	}
	dst, off, err := a.memory(operands[1])
	if err != nil {
		return isa.Instruction{}, err
	}
	src, err := a.register(operands[2])
	return isa.Instruction{
		Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeATOMIC) | uint8(size),
		Dst:    dst, Src: src, Offset: off, Imm: int64(op),
	}, err
}

// encodeMemory assembles loads and stores.
func (a *assembler) encodeMemory(mnemonic string, operands []string) (isa.Instruction, bool, error) {
	var class isa.Class
	mode := isa.ModeMEM
	var suffix string
	switch {
	case strings.HasPrefix(mnemonic, "ldabs"):
		class, mode, suffix = isa.ClassLD, isa.ModeABS, mnemonic[5:]
	case strings.HasPrefix(mnemonic, "ldind"):
		class, mode, suffix = isa.ClassLD, isa.ModeIND, mnemonic[5:]
	case strings.HasPrefix(mnemonic, "ldacq"):
		class, mode, suffix = isa.ClassSTX, isa.ModeATOMIC, mnemonic[5:]
	case strings.HasPrefix(mnemonic, "strel"):
		class, mode, suffix = isa.ClassSTX, isa.ModeATOMIC, mnemonic[5:]
	case strings.HasPrefix(mnemonic, "ldxs"):
		class, mode, suffix = isa.ClassLDX, isa.ModeMEMSX, mnemonic[4:]
	case strings.HasPrefix(mnemonic, "ldx"):
		class, suffix = isa.ClassLDX, mnemonic[3:]
	case strings.HasPrefix(mnemonic, "stx"):
		class, suffix = isa.ClassSTX, mnemonic[3:]
	case strings.HasPrefix(mnemonic, "st"):
		class, suffix = isa.ClassST, mnemonic[2:]
	default:
		return isa.Instruction{}, false, nil
	}
	size, ok := sizes[suffix]
	if !ok || size == isa.SizeDW && (mode == isa.ModeMEMSX || mode == isa.ModeABS || mode == isa.ModeIND) {
		return isa.Instruction{}, false, nil
	}
	ins := isa.Instruction{Opcode: uint8(class) | uint8(mode) | uint8(size)}
	n := 2
	if mode == isa.ModeABS {
		n = 1
	}
	if err := a.wantOperands(mnemonic, operands, n); err != nil {
		return ins, true, err
	}
	var err error
	switch {
	case mode == isa.ModeABS:
		ins.Imm, err = a.imm32(operands[0])
	case mode == isa.ModeIND:
		if ins.Src, err = a.register(operands[0]); err == nil {
			ins.Imm, err = a.imm32(operands[1])
		}
	case mode == isa.ModeATOMIC && strings.HasPrefix(mnemonic, "ldacq"):
		ins.Imm = int64(isa.AtomicLoadAcquire)
		if ins.Dst, err = a.register(operands[0]); err == nil {
			ins.Src, ins.Offset, err = a.memory(operands[1])
		}
	case mode == isa.ModeATOMIC:
		ins.Imm = int64(isa.AtomicStoreRelease)
		if ins.Dst, ins.Offset, err = a.memory(operands[0]); err == nil {
			ins.Src, err = a.register(operands[1])
		}
	case class == isa.ClassLDX:
		if ins.Dst, err = a.register(operands[0]); err == nil {
			ins.Src, ins.Offset, err = a.memory(operands[1])
		}
	case class == isa.ClassST:
		if ins.Dst, ins.Offset, err = a.memory(operands[0]); err == nil {
			ins.Imm, err = a.imm32(operands[1])
		}
	default:
		if ins.Dst, ins.Offset, err = a.memory(operands[0]); err == nil {
			ins.Src, err = a.register(operands[1])
		}
	}
	return ins, true, err
}

// encodeRaw assembles ".raw" and ".invalid": an instruction given as its
// one or two 8-byte slots, each a little-endian 64-bit number.
func (a *assembler) encodeRaw(mnemonic string, operands []string) (isa.Instruction, error) {
	if len(operands) != 1 && len(operands) != 2 {
		return isa.Instruction{}, a.errorf("%s takes 1 or 2 slots, got %d operands", mnemonic, len(operands))
	}
	var code []byte
	for _, op := range operands {
		n, err := a.number(op, "slot")
		if err != nil {
			return isa.Instruction{}, err
		}
		if n.neg {
			return isa.Instruction{}, a.errorf("slot %s must not be negative", op)
		}
		code = binary.LittleEndian.AppendUint64(code, n.mag)
	}
	insns, err := isa.Decode(code)
	if err != nil {
		return isa.Instruction{}, a.errorf("%s %s: %v", mnemonic, strings.Join(operands, ", "), err)
	}
	if len(insns) != 1 {
		return isa.Instruction{}, a.errorf("%s %s is %d instructions, not one", mnemonic, strings.Join(operands, ", "), len(insns))
	}
	return insns[0], nil
}

// register parses "%r0" to "%r10".
func (a *assembler) register(s string) (isa.Register, error) {
	digits, ok := strings.CutPrefix(s, "%r")
	if !ok || digits == "" || len(digits) > 1 && digits[0] == '0' {
		return 0, a.errorf("expected a register %%r0 to %%r10, got %q", s)
	}
	n, err := strconv.ParseUint(digits, 10, 8)
	if err != nil {
		return 0, a.errorf("expected a register %%r0 to %%r10, got %q", s)
	}
	if n > 10 {
		return 0, a.errorf("register %q does not exist: registers are %%r0 to %%r10", s)
	}
	return isa.Register(n), nil
}

// registerOrImm sets the source of an ALU or jump instruction: a register
// (SourceX) or a 32-bit immediate (SourceK).
func (a *assembler) registerOrImm(ins *isa.Instruction, s string) error {
	if strings.HasPrefix(s, "%") {
		src, err := a.register(s)
		ins.Opcode |= isa.SourceX
		ins.Src = src
		return err
	}
	imm, err := a.imm32(s)
	ins.Imm = imm
	return err
}

// memory parses "[%rN]", "[%rN+off]" or "[%rN-off]".
func (a *assembler) memory(s string) (isa.Register, int16, error) {
	inner, ok := strings.CutPrefix(s, "[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]")
	}
	if !ok {
		return 0, 0, a.errorf("expected a memory operand like [%%r1+4], got %q", s)
	}
	i := strings.IndexAny(inner, "+-")
	if i < 0 {
		r, err := a.register(inner)
		return r, 0, err
	}
	r, err := a.register(inner[:i])
	if err != nil {
		return 0, 0, err
	}
	n, err := a.number(inner[i:], "offset")
	if err != nil {
		return 0, 0, err
	}
	switch {
	case n.neg && n.mag <= 0x8000:
		return r, int16(-int64(n.mag)), nil
	case !n.neg && n.hex && n.mag <= 0xffff:
		return r, int16(uint16(n.mag)), nil
	case !n.neg && n.mag <= math.MaxInt16:
		return r, int16(n.mag), nil
	}
	return 0, 0, a.errorf("offset %s does not fit in 16 bits", inner[i:])
}

// number is a parsed integer literal: its sign and magnitude.
type number struct {
	neg bool
	hex bool
	mag uint64
}

// number parses a signed decimal or hexadecimal literal; what names the
// operand in errors.
func (a *assembler) number(s, what string) (number, error) {
	var n number
	digits := s
	if rest, ok := strings.CutPrefix(digits, "-"); ok {
		n.neg, digits = true, rest
	} else if rest, ok := strings.CutPrefix(digits, "+"); ok {
		digits = rest
	}
	base := 10
	if rest, ok := strings.CutPrefix(digits, "0x"); ok {
		n.hex, base, digits = true, 16, rest
	} else if rest, ok := strings.CutPrefix(digits, "0X"); ok {
		n.hex, base, digits = true, 16, rest
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' || strings.Contains(digits, "_") {
		return n, a.errorf("%s %q is not a number", what, s)
	}
	mag, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return n, a.errorf("%s %s does not fit in 64 bits", what, s)
		}
		return n, a.errorf("%s %q is not a number", what, s)
	}
	n.mag = mag
	return n, nil
}

// imm32 parses a 32-bit immediate: signed decimal, or hexadecimal up to
// 0xffffffff, which wraps to a negative int32.
func (a *assembler) imm32(s string) (int64, error) {
	n, err := a.number(s, "immediate")
	if err != nil {
		return 0, err
	}
	switch {
	case n.neg && n.mag <= 1<<31:
		return -int64(n.mag), nil
	case !n.neg && n.hex && n.mag <= math.MaxUint32:
		return int64(int32(uint32(n.mag))), nil
	case !n.neg && n.mag <= math.MaxInt32:
		return int64(n.mag), nil
	}
	return 0, a.errorf("immediate %s does not fit in 32 bits", s)
}

// uimm32 parses a 32-bit field given as an unsigned number (decimal or
// hexadecimal up to 0xffffffff) or a negative decimal down to -2^31.
func (a *assembler) uimm32(s string) (uint32, error) {
	n, err := a.number(s, "immediate")
	if err != nil {
		return 0, err
	}
	switch {
	case n.neg && n.mag <= 1<<31:
		return uint32(-int64(n.mag)), nil
	case !n.neg && n.mag <= math.MaxUint32:
		return uint32(n.mag), nil
	}
	return 0, a.errorf("immediate %s does not fit in 32 bits", s)
}

// imm64 parses the constant of an lddw: any 64-bit pattern, signed or not.
func (a *assembler) imm64(s string) (int64, error) {
	n, err := a.number(s, "immediate")
	if err != nil {
		return 0, err
	}
	if n.neg {
		if n.mag > 1<<63 {
			return 0, a.errorf("immediate %s does not fit in 64 bits", s)
		}
		return -int64(n.mag), nil
	}
	return int64(n.mag), nil
}

// target parses a jump target: "+N" or "-N" slots, or a label to resolve
// later into field. bits is the width of the field.
func (a *assembler) target(s string, bits int, field fixupField) (int64, error) {
	if s == "" || s[0] != '+' && s[0] != '-' {
		if !validLabel(s) {
			return 0, a.errorf("expected a label or a +N/-N offset, got %q", s)
		}
		a.fixups = append(a.fixups, fixup{index: len(a.insns), slot: a.slots, name: s, field: field, line: a.line})
		return 0, nil
	}
	n, err := a.number(s, "jump offset")
	if err != nil {
		return 0, err
	}
	limit := uint64(1) << (bits - 1)
	if n.neg && n.mag <= limit {
		return -int64(n.mag), nil
	}
	if !n.neg && n.mag < limit {
		return int64(n.mag), nil
	}
	return 0, a.errorf("jump offset %s does not fit in %d bits", s, bits)
}
