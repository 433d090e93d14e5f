package interp

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/memory"
	"github.com/waggle-ebpf/waggle/isa"
)

// Instruction builders for the tests.
func mov64(dst isa.Register, imm int64) isa.Instruction {
	return isa.Instruction{Opcode: isa.OpMov64, Dst: dst, Imm: imm}
}

func movReg(dst, src isa.Register) isa.Instruction {
	return isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUMov | isa.SourceX, Dst: dst, Src: src}
}

func addImm(dst isa.Register, imm int64) isa.Instruction {
	return isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd, Dst: dst, Imm: imm}
}

func lddw(dst isa.Register, imm uint64) isa.Instruction {
	return isa.Instruction{Opcode: isa.OpLdDW, Dst: dst, Imm: int64(imm)}
}

func ldx(size isa.Size, dst, src isa.Register, off int16) isa.Instruction {
	return isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(size), Dst: dst, Src: src, Offset: off}
}

func stx(size isa.Size, dst, src isa.Register, off int16) isa.Instruction {
	return isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(size), Dst: dst, Src: src, Offset: off}
}

func atomic64(dst, src isa.Register, off int16, op int32) isa.Instruction {
	return isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeATOMIC) | uint8(isa.SizeDW), Dst: dst, Src: src, Offset: off, Imm: int64(op)}
}

func ja(off int16) isa.Instruction {
	return isa.Instruction{Opcode: isa.OpJA, Offset: off}
}

func callHelper(id int32) isa.Instruction {
	return isa.Instruction{Opcode: isa.OpCall, Imm: int64(id)}
}

func callLocal(off int32) isa.Instruction {
	return isa.Instruction{Opcode: isa.OpCall, Src: isa.Register(isa.CallLocal), Imm: int64(off)}
}

var exit = isa.Instruction{Opcode: isa.OpExit}

// run compiles insns and runs them with r1 = the address of mem and r2 its
// length; mem is writable unless readOnly.
func run(t *testing.T, insns isa.Instructions, mem []byte, readOnly bool, table *helper.Table, budget uint64) (uint64, error) {
	t.Helper()
	p, err := Compile(insns, table)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	m := NewMachine()
	r := memory.NewRegion(mem, !readOnly, memory.KindContext)
	m.Memory.Add(r)
	m.Packet = memory.NewRegion(mem, false, memory.KindPacket)
	return p.Run(m, engine.RunArgs{R1: r.Start, R2: uint64(len(mem)), Budget: budget})
}

func wantFault(t *testing.T, err error, access memory.Access) {
	t.Helper()
	var f *memory.Fault
	if !errors.As(err, &f) {
		t.Fatalf("err = %v, want a memory fault", err)
	}
	if f.Access != access {
		t.Fatalf("fault access = %v, want %v (%v)", f.Access, access, err)
	}
	var re *engine.Error
	if !errors.As(err, &re) {
		t.Fatalf("err = %T, want *engine.Error naming the instruction", err)
	}
}

// TestRegionBoundaries loads and stores one byte inside and one byte outside
// both ends of the context region and of the stack, for every access size.
func TestRegionBoundaries(t *testing.T) {
	const memLen = 64
	sizes := []isa.Size{isa.SizeB, isa.SizeH, isa.SizeW, isa.SizeDW}
	for _, size := range sizes {
		n := int16(size.Bytes())
		for _, tc := range []struct {
			name string
			base isa.Register
			off  int16
			ok   bool
		}{
			{"context first byte", isa.R1, 0, true},
			{"context last bytes", isa.R1, memLen - n, true},
			{"context one past end", isa.R1, memLen - n + 1, false},
			{"context one before start", isa.R1, -1, false},
			{"stack bottom", isa.R10, -engine.StackSize, true},
			{"stack one below bottom", isa.R10, -engine.StackSize - 1, false},
			{"stack top bytes", isa.R10, -n, true},
			{"stack one past top", isa.R10, -n + 1, false},
			{"stack at frame pointer", isa.R10, 0, false},
		} {
			t.Run(tc.name+"/"+string(rune('0'+n)), func(t *testing.T) {
				mem := make([]byte, memLen)
				_, err := run(t, isa.Instructions{ldx(size, isa.R0, tc.base, tc.off), exit}, mem, false, nil, 0)
				if tc.ok && err != nil {
					t.Fatalf("load: %v", err)
				}
				if !tc.ok {
					wantFault(t, err, memory.Read)
				}
				_, err = run(t, isa.Instructions{stx(size, tc.base, isa.R2, tc.off), mov64(isa.R0, 0), exit}, mem, false, nil, 0)
				if tc.ok && err != nil {
					t.Fatalf("store: %v", err)
				}
				if !tc.ok {
					wantFault(t, err, memory.Write)
				}
			})
		}
	}
}

func TestStoreToReadOnlyRegion(t *testing.T) {
	mem := make([]byte, 16)
	_, err := run(t, isa.Instructions{stx(isa.SizeB, isa.R1, isa.R2, 0), exit}, mem, true, nil, 0)
	wantFault(t, err, memory.Write)
	if !strings.Contains(err.Error(), "read-only") {
		t.Errorf("error %q does not say the region is read-only", err)
	}
	if _, err := run(t, isa.Instructions{ldx(isa.SizeB, isa.R0, isa.R1, 15), exit}, mem, true, nil, 0); err != nil {
		t.Errorf("load from read-only region: %v", err)
	}
}

// TestAddressWraparound: addresses whose computation overflows never pass
// the checks.
func TestAddressWraparound(t *testing.T) {
	mem := make([]byte, 16)
	for _, tc := range []struct {
		name  string
		insns isa.Instructions
	}{
		{"base near top, offset wraps past zero", isa.Instructions{lddw(isa.R3, math.MaxUint64-3), ldx(isa.SizeDW, isa.R0, isa.R3, 0), exit}},
		{"top of address space", isa.Instructions{lddw(isa.R3, math.MaxUint64), ldx(isa.SizeB, isa.R0, isa.R3, 0), exit}},
		{"negative offset from zero", isa.Instructions{mov64(isa.R3, 0), ldx(isa.SizeW, isa.R0, isa.R3, -4), exit}},
		{"context base plus huge offset wraps to context", isa.Instructions{
			// r3 = r1 + 2^64 - 1 + 1: wraps to r1 only through two adds; both
			// steps are plain arithmetic, and the access at the wrapped
			// address is inside the context, so it is allowed.
			movReg(isa.R3, isa.R1), lddw(isa.R4, math.MaxUint64), isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd | isa.SourceX, Dst: isa.R3, Src: isa.R4},
			ldx(isa.SizeB, isa.R0, isa.R3, 1), exit}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.insns, mem, false, nil, 0)
			if strings.HasPrefix(tc.name, "context base") {
				if err != nil {
					t.Fatalf("access at r1+(2^64-1)+1 = r1: %v", err)
				}
				return
			}
			wantFault(t, err, memory.Read)
		})
	}
}

func TestAtomicAlignment(t *testing.T) {
	mem := make([]byte, 16)
	_, err := run(t, isa.Instructions{mov64(isa.R2, 1), atomic64(isa.R1, isa.R2, 4, isa.AtomicAdd), exit}, mem, false, nil, 0)
	wantFault(t, err, memory.Atomic)
	if !strings.Contains(err.Error(), "aligned") {
		t.Errorf("error %q does not mention alignment", err)
	}
	if _, err := run(t, isa.Instructions{mov64(isa.R2, 1), atomic64(isa.R1, isa.R2, 8, isa.AtomicAdd), mov64(isa.R0, 0), exit}, mem, false, nil, 0); err != nil {
		t.Fatal(err)
	}
	if mem[8] != 1 {
		t.Errorf("atomic add wrote %v", mem)
	}
}

func TestBudget(t *testing.T) {
	loop := isa.Instructions{mov64(isa.R0, 0), addImm(isa.R0, 1), ja(-2)}
	_, err := run(t, loop, nil, false, nil, 1000)
	if !errors.Is(err, engine.ErrBudgetExhausted) {
		t.Fatalf("err = %v, want engine.ErrBudgetExhausted", err)
	}
	// Exactly the budget: a program of n instructions runs with budget n.
	straight := isa.Instructions{mov64(isa.R0, 1), addImm(isa.R0, 1), exit}
	if r0, err := run(t, straight, nil, false, nil, 3); err != nil || r0 != 2 {
		t.Fatalf("budget 3 for 3 instructions: r0=%d err=%v", r0, err)
	}
	if _, err := run(t, straight, nil, false, nil, 2); !errors.Is(err, engine.ErrBudgetExhausted) {
		t.Fatalf("budget 2 for 3 instructions: err = %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	p, err := Compile(isa.Instructions{ja(-1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = p.Run(NewMachine(), engine.RunArgs{Context: ctx, Budget: math.MaxUint64})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// TestTimeout checks that engine.RunArgs.Deadline ends an endless loop, and one
// already passed the run's first instruction, with a *engine.TimeoutError that
// matches context.DeadlineExceeded and names the timeout.
func TestTimeout(t *testing.T) {
	p, err := Compile(isa.Instructions{ja(-1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		budget  uint64
	}{
		{"endless", 20 * time.Millisecond, math.MaxUint64},
		{"default budget", 20 * time.Millisecond, 0},
		{"passed", -time.Second, math.MaxUint64},
	} {
		_, err := p.Run(NewMachine(), engine.RunArgs{Deadline: time.Now().Add(tc.timeout), Timeout: tc.timeout, Budget: tc.budget})
		var te *engine.TimeoutError
		var re *engine.Error
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &te) || te.Timeout != tc.timeout ||
			!errors.As(err, &re) || !strings.Contains(err.Error(), "timeout of "+tc.timeout.String()) {
			t.Errorf("%s: err = %v, want a engine.TimeoutError of %v", tc.name, err, tc.timeout)
		}
	}
}

func TestCallDepth(t *testing.T) {
	// f calls itself forever: the ninth frame is refused.
	recurse := isa.Instructions{callLocal(-1), exit}
	_, err := run(t, append(isa.Instructions{callLocal(0)}, recurse...), nil, false, nil, 0)
	if !errors.Is(err, engine.ErrCallDepth) {
		t.Fatalf("err = %v, want engine.ErrCallDepth", err)
	}
}

// TestCallFrames: each frame has its own 512 bytes; the callee sees the
// caller's frame through a pointer, and r6-r9 come back unchanged.
func TestCallFrames(t *testing.T) {
	insns := isa.Instructions{
		mov64(isa.R6, 6),
		mov64(isa.R2, 42),
		stx(isa.SizeDW, isa.R10, isa.R2, -8), // caller's frame: [r10-8] = 42
		movReg(isa.R1, isa.R10),
		callLocal(2),
		addImm(isa.R0, 0),
		ja(5),
		// callee: r0 = *(r1-8) + own stack round trip; clobbers r6
		ldx(isa.SizeDW, isa.R0, isa.R1, -8),
		stx(isa.SizeDW, isa.R10, isa.R0, -engine.StackSize),
		ldx(isa.SizeDW, isa.R0, isa.R10, -engine.StackSize),
		mov64(isa.R6, 0),
		exit,
		// back in the caller
		isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd | isa.SourceX, Dst: isa.R0, Src: isa.R6},
		exit,
	}
	r0, err := run(t, insns, nil, false, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r0 != 48 {
		t.Fatalf("r0 = %d, want 42 + r6 (6) = 48", r0)
	}
}

func TestHelpers(t *testing.T) {
	table, err := helper.NewTable(
		helper.Helper{ID: 1, Name: "sum", Func: func(c *helper.Call) (uint64, error) {
			return c.Args[0] + c.Args[1] + c.Args[2] + c.Args[3] + c.Args[4], nil
		}},
		helper.Helper{ID: 2, Name: "stop", Func: func(c *helper.Call) (uint64, error) {
			return 77, helper.ErrExitProgram
		}},
		helper.Helper{ID: 3, Name: "fail", Func: func(c *helper.Call) (uint64, error) {
			return 0, errors.New("boom")
		}},
		helper.Helper{ID: 4, Name: "peek", Func: func(c *helper.Call) (uint64, error) {
			b, err := c.Read(c.Args[0], 8)
			if err != nil {
				return 0, err
			}
			return uint64(b[0]), nil
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	regs := isa.Instructions{mov64(isa.R1, 1), mov64(isa.R2, 2), mov64(isa.R3, 3), mov64(isa.R4, 4), mov64(isa.R5, 5)}
	for _, tc := range []struct {
		name    string
		insns   isa.Instructions
		want    uint64
		wantErr string
	}{
		{"arguments", append(regs[:5:5], callHelper(1), exit), 15, ""},
		{"exit program", isa.Instructions{callHelper(2), mov64(isa.R0, 1), exit}, 77, ""},
		{"error", isa.Instructions{callHelper(3), exit}, 0, "helper 3 (fail): boom"},
		{"reads stack", isa.Instructions{mov64(isa.R2, 9), stx(isa.SizeDW, isa.R10, isa.R2, -8), movReg(isa.R1, isa.R10), addImm(isa.R1, -8), callHelper(4), exit}, 9, ""},
		{"refused pointer", isa.Instructions{movReg(isa.R1, isa.R10), callHelper(4), exit}, 0, "read of 8 bytes"},
		{"callx", isa.Instructions{mov64(isa.R1, 5), mov64(isa.R3, 1), {Opcode: isa.OpCallX, Dst: isa.R3}, exit}, 5 + 1, ""},
		{"callx unknown", isa.Instructions{mov64(isa.R3, 99), {Opcode: isa.OpCallX, Dst: isa.R3}, exit}, 0, "not the ID of a helper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r0, err := run(t, tc.insns, nil, false, table, 0)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || r0 != tc.want {
				t.Fatalf("r0 = %d, err = %v; want %d", r0, err, tc.want)
			}
		})
	}
	if _, err := Compile(isa.Instructions{callHelper(12), exit}, table); err == nil || !strings.Contains(err.Error(), "bpf_tail_call") {
		t.Fatalf("Compile with a missing helper: err = %v, want it to name bpf_tail_call", err)
	}
}

func TestLegacyPacketLoads(t *testing.T) {
	pkt := []byte{0x11, 0x22, 0x33, 0x44, 0x55}
	ldAbs := func(size isa.Size, imm int64) isa.Instruction {
		return isa.Instruction{Opcode: uint8(isa.ClassLD) | uint8(isa.ModeABS) | uint8(size), Imm: imm}
	}
	ldInd := func(size isa.Size, src isa.Register, imm int64) isa.Instruction {
		return isa.Instruction{Opcode: uint8(isa.ClassLD) | uint8(isa.ModeIND) | uint8(size), Src: src, Imm: imm}
	}
	for _, tc := range []struct {
		name  string
		insns isa.Instructions
		want  uint64
	}{
		{"abs byte", isa.Instructions{ldAbs(isa.SizeB, 4), exit}, 0x55},
		{"abs half, network order", isa.Instructions{ldAbs(isa.SizeH, 1), exit}, 0x2233},
		{"abs word", isa.Instructions{ldAbs(isa.SizeW, 1), exit}, 0x22334455},
		{"abs out of bounds ends the program with 0", isa.Instructions{ldAbs(isa.SizeW, 2), mov64(isa.R0, 9), exit}, 0},
		{"ind", isa.Instructions{mov64(isa.R3, 2), ldInd(isa.SizeH, isa.R3, 1), exit}, 0x4455},
		{"ind negative", isa.Instructions{mov64(isa.R3, -1), ldInd(isa.SizeB, isa.R3, 0), mov64(isa.R0, 9), exit}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r0, err := run(t, tc.insns, pkt, true, nil, 0)
			if err != nil || r0 != tc.want {
				t.Fatalf("r0 = %#x, err = %v; want %#x", r0, err, tc.want)
			}
		})
	}
}

// TestMachineReuseContext runs a loop on one machine with and without a
// context, a timeout or a budget, in turn: what one run set must not stay
// for the next (Run writes the context and the deadline only when they
// change, and gives the first instructions without looking at them when
// there is nothing to look at).
func TestMachineReuseContext(t *testing.T) {
	// r0 = 0; loop 1000 times; return r0.
	p, err := Compile(isa.Instructions{
		mov64(isa.R0, 0),
		addImm(isa.R0, 1),
		{Opcode: uint8(isa.ClassJMP) | isa.JumpNE, Dst: isa.R0, Imm: 1000, Offset: -2},
		exit,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	m := NewMachine()
	for _, tc := range []struct {
		name string
		args engine.RunArgs
		want error // nil: the run returns 1000
	}{
		{"plain", engine.RunArgs{}, nil},
		{"cancelled context", engine.RunArgs{Context: cancelled}, context.Canceled},
		{"plain after a cancelled context", engine.RunArgs{}, nil},
		{"passed timeout", engine.RunArgs{Timeout: time.Second, Deadline: time.Now().Add(-time.Second)}, context.DeadlineExceeded},
		{"plain after a timeout", engine.RunArgs{}, nil},
		{"budget too small", engine.RunArgs{Budget: 10}, engine.ErrBudgetExhausted},
		{"plain after a budget", engine.RunArgs{}, nil},
		{"live context", engine.RunArgs{Context: context.Background()}, nil},
		{"cancelled context after a live one", engine.RunArgs{Context: cancelled}, context.Canceled},
	} {
		r0, err := p.Run(m, tc.args)
		switch {
		case tc.want == nil && (err != nil || r0 != 1000):
			t.Errorf("%s: r0 = %d, err = %v; want 1000", tc.name, r0, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}
