// Package seccomp turns verified eBPF system call policies (waggle's
// Seccomp program type) into the kernel's own classic BPF seccomp filters,
// runs such filters on a struct seccomp_data as the kernel does, and
// installs them.
//
// A policy that reads only its struct seccomp_data and decides with
// comparisons and bit operations — no maps, no helpers, no stack, no loops
// — is lowered exactly: every register is a pair of 32-bit scratch words,
// every eBPF instruction a short run of classic ones (Lower). The kernel
// then decides every system call itself, with no round trip to waggle.
package seccomp

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Instruction is a classic BPF instruction (struct sock_filter).
type Instruction struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// Filter is a classic BPF seccomp filter.
type Filter []Instruction

// Classic BPF opcodes (<linux/bpf_common.h>): class, size, mode, operation
// and source fields.
const (
	clsLD   = 0x00
	clsLDX  = 0x01
	clsST   = 0x02
	clsALU  = 0x04
	clsJMP  = 0x05
	clsRET  = 0x06
	clsMISC = 0x07

	sizeW   = 0x00
	modeIMM = 0x00
	modeABS = 0x20
	modeMEM = 0x60

	aluADD = 0x00
	aluSUB = 0x10
	aluMUL = 0x20
	aluDIV = 0x30
	aluOR  = 0x40
	aluAND = 0x50
	aluLSH = 0x60
	aluRSH = 0x70
	aluNEG = 0x80
	aluMOD = 0x90
	aluXOR = 0xa0

	jmpJA   = 0x00
	jmpJEQ  = 0x10
	jmpJGT  = 0x20
	jmpJGE  = 0x30
	jmpJSET = 0x40

	srcK = 0x00
	srcX = 0x08

	retK = 0x00
	retA = 0x10

	miscTAX = 0x00
	miscTXA = 0x80

	// MaxInstructions is the longest filter the kernel takes
	// (BPF_MAXINSNS).
	MaxInstructions = 4096
	// scratchWords is the number of scratch memory words (BPF_MEMWORDS).
	scratchWords = 16
	// DataSize is sizeof(struct seccomp_data).
	DataSize = 64
)

// Bytes is the filter as struct sock_filter array, in the host's byte
// order, as seccomp(2) takes it.
func (f Filter) Bytes() []byte {
	b := make([]byte, 0, 8*len(f))
	for _, in := range f {
		b = binary.NativeEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.NativeEndian.AppendUint32(b, in.K)
	}
	return b
}

// FilterFromBytes is Bytes' inverse.
func FilterFromBytes(b []byte) (Filter, error) {
	if len(b)%8 != 0 || len(b) == 0 || len(b)/8 > MaxInstructions {
		return nil, fmt.Errorf("a classic filter is 1 to %d instructions of 8 bytes, not %d bytes", MaxInstructions, len(b))
	}
	f := make(Filter, len(b)/8)
	for i := range f {
		in := b[8*i:]
		f[i] = Instruction{Code: binary.NativeEndian.Uint16(in), Jt: in[2], Jf: in[3], K: binary.NativeEndian.Uint32(in[4:])}
	}
	return f, nil
}

// Run runs the filter on data (a struct seccomp_data) as the kernel's
// seccomp does and returns its action. It fails on what the kernel's
// checker would refuse (a load outside seccomp_data, a jump out of the
// filter, a scratch word read before it was written on that path, falling
// off the end).
func (f Filter) Run(data *[DataSize]byte) (uint32, error) {
	return f.run(func(off uint32) (uint32, bool) { return binary.NativeEndian.Uint32(data[off:]), true })
}

// errUnknownField is run's error when load does not know a field.
var errUnknownField = fmt.Errorf("the filter reads a field that is not known")

// run is Run, loading seccomp_data's 32-bit word at off with load, which
// may not know it (run then fails with errUnknownField).
func (f Filter) run(load func(off uint32) (uint32, bool)) (uint32, error) {
	var a, x uint32
	var mem [scratchWords]uint32
	var written uint16
	for pc := 0; pc < len(f); pc++ {
		in := f[pc]
		switch in.Code & 0x07 {
		case clsLD:
			switch in.Code &^ 0x07 {
			case sizeW | modeABS:
				if in.K%4 != 0 || in.K >= DataSize {
					return 0, fmt.Errorf("instruction %d loads seccomp_data at offset %d", pc, in.K)
				}
				v, ok := load(in.K)
				if !ok {
					return 0, errUnknownField
				}
				a = v
			case sizeW | modeIMM:
				a = in.K
			case sizeW | modeMEM:
				if in.K >= scratchWords || written&(1<<in.K) == 0 {
					return 0, fmt.Errorf("instruction %d reads scratch word %d, never written", pc, in.K)
				}
				a = mem[in.K]
			default:
				return 0, fmt.Errorf("instruction %d: load %#x is not allowed in seccomp filters", pc, in.Code)
			}
		case clsLDX:
			switch in.Code &^ 0x07 {
			case sizeW | modeIMM:
				x = in.K
			case sizeW | modeMEM:
				if in.K >= scratchWords || written&(1<<in.K) == 0 {
					return 0, fmt.Errorf("instruction %d reads scratch word %d, never written", pc, in.K)
				}
				x = mem[in.K]
			default:
				return 0, fmt.Errorf("instruction %d: load %#x is not allowed in seccomp filters", pc, in.Code)
			}
		case clsST:
			if in.K >= scratchWords {
				return 0, fmt.Errorf("instruction %d stores to scratch word %d", pc, in.K)
			}
			mem[in.K] = a
			written |= 1 << in.K
		case clsALU:
			v := in.K
			if in.Code&srcX != 0 {
				v = x
			}
			switch in.Code & 0xf0 {
			case aluADD:
				a += v
			case aluSUB:
				a -= v
			case aluMUL:
				a *= v
			case aluDIV, aluMOD:
				if v == 0 {
					return 0, nil // the kernel's classic BPF: the filter returns 0
				}
				if in.Code&0xf0 == aluDIV {
					a /= v
				} else {
					a %= v
				}
			case aluOR:
				a |= v
			case aluAND:
				a &= v
			case aluLSH:
				a <<= v & 31
			case aluRSH:
				a >>= v & 31
			case aluNEG:
				a = -a
			case aluXOR:
				a ^= v
			default:
				return 0, fmt.Errorf("instruction %d: ALU operation %#x", pc, in.Code)
			}
		case clsJMP:
			if in.Code&0xf0 == jmpJA {
				pc += int(in.K)
				if pc+1 >= len(f) {
					return 0, fmt.Errorf("instruction %d jumps past the end", pc)
				}
				continue
			}
			v := in.K
			if in.Code&srcX != 0 {
				v = x
			}
			var taken bool
			switch in.Code & 0xf0 {
			case jmpJEQ:
				taken = a == v
			case jmpJGT:
				taken = a > v
			case jmpJGE:
				taken = a >= v
			case jmpJSET:
				taken = a&v != 0
			default:
				return 0, fmt.Errorf("instruction %d: jump %#x", pc, in.Code)
			}
			if taken {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
			if pc+1 >= len(f) {
				return 0, fmt.Errorf("instruction %d jumps past the end", pc)
			}
		case clsRET:
			if in.Code&retA != 0 {
				return a, nil
			}
			return in.K, nil
		case clsMISC:
			if in.Code&0xf8 == miscTXA {
				a = x
			} else {
				x = a
			}
		default:
			return 0, fmt.Errorf("instruction %d: class %#x is not allowed in seccomp filters", pc, in.Code&7)
		}
	}
	return 0, fmt.Errorf("the filter runs past its last instruction")
}

// String lists the filter one instruction a line, as bpf_dbg and
// seccomp-tools do.
func (f Filter) String() string {
	var b strings.Builder
	for pc, in := range f {
		fmt.Fprintf(&b, "%4d: %s\n", pc, in.text(pc))
	}
	return b.String()
}

// text disassembles one instruction at pc.
func (in Instruction) text(pc int) string {
	src := fmt.Sprintf("#%#x", in.K)
	if in.Code&srcX != 0 {
		src = "x"
	}
	switch in.Code & 0x07 {
	case clsLD:
		switch in.Code &^ 0x07 {
		case sizeW | modeABS:
			return "ld " + fieldName(in.K)
		case sizeW | modeIMM:
			return fmt.Sprintf("ld #%#x", in.K)
		case sizeW | modeMEM:
			return fmt.Sprintf("ld M[%d]", in.K)
		}
	case clsLDX:
		if in.Code&^0x07 == sizeW|modeMEM {
			return fmt.Sprintf("ldx M[%d]", in.K)
		}
		return fmt.Sprintf("ldx #%#x", in.K)
	case clsST:
		return fmt.Sprintf("st M[%d]", in.K)
	case clsALU:
		ops := map[uint16]string{aluADD: "add", aluSUB: "sub", aluMUL: "mul", aluDIV: "div", aluOR: "or", aluAND: "and",
			aluLSH: "lsh", aluRSH: "rsh", aluNEG: "neg", aluMOD: "mod", aluXOR: "xor"}
		if in.Code&0xf0 == aluNEG {
			return "neg"
		}
		return ops[in.Code&0xf0] + " " + src
	case clsJMP:
		if in.Code&0xf0 == jmpJA {
			return fmt.Sprintf("ja %d", pc+1+int(in.K))
		}
		ops := map[uint16]string{jmpJEQ: "jeq", jmpJGT: "jgt", jmpJGE: "jge", jmpJSET: "jset"}
		return fmt.Sprintf("%s %s, %d, %d", ops[in.Code&0xf0], src, pc+1+int(in.Jt), pc+1+int(in.Jf))
	case clsRET:
		if in.Code&retA != 0 {
			return "ret a"
		}
		return "ret " + ActionName(in.K)
	case clsMISC:
		if in.Code&0xf8 == miscTXA {
			return "txa"
		}
		return "tax"
	}
	return fmt.Sprintf("%#04x %d %d %#x", in.Code, in.Jt, in.Jf, in.K)
}

// fieldName names the word of struct seccomp_data at off.
func fieldName(off uint32) string {
	switch {
	case off == 0:
		return "[nr]"
	case off == 4:
		return "[arch]"
	case off == 8:
		return "[instruction_pointer]"
	case off == 12:
		return "[instruction_pointer + 4]"
	case off >= 16 && off < DataSize:
		half := ""
		if off%8 != 0 {
			half = " + 4"
		}
		return fmt.Sprintf("[args[%d]%s]", (off-16)/8, half)
	}
	return fmt.Sprintf("[%d]", off)
}

// The actions of a seccomp filter (<linux/seccomp.h>).
const (
	RetKillProcess = 0x80000000
	RetKillThread  = 0x00000000
	RetTrap        = 0x00030000
	RetErrno       = 0x00050000
	RetUserNotif   = 0x7fc00000
	RetTrace       = 0x7ff00000
	RetLog         = 0x7ffc0000
	RetAllow       = 0x7fff0000
	retActionFull  = 0xffff0000
	retData        = 0x0000ffff
)

// ActionName names a seccomp action: "ALLOW", "ERRNO(1)", "KILL_PROCESS".
func ActionName(a uint32) string {
	data := a & retData
	switch a & retActionFull {
	case RetKillProcess:
		return "KILL_PROCESS"
	case RetKillThread:
		return "KILL_THREAD"
	case RetTrap:
		return fmt.Sprintf("TRAP(%d)", data)
	case RetErrno:
		return fmt.Sprintf("ERRNO(%d)", data)
	case RetUserNotif:
		return "USER_NOTIF"
	case RetTrace:
		return fmt.Sprintf("TRACE(%d)", data)
	case RetLog:
		return "LOG"
	case RetAllow:
		return "ALLOW"
	}
	return fmt.Sprintf("%#x", a)
}
