package verifier

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/engine"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/isa"
)

var recordSock = flag.Bool("record-sock", false, "record the kernel's verdicts on the socket programs' context probes in testdata/sock_ctx.txt (root)")

// sockCtxFile holds the kernel's verdicts on the probes of the cgroup
// socket programs' contexts.
const sockCtxFile = "testdata/sock_ctx.txt"

// sockProbeSet is one line of the file: the probes of one program type,
// attach type, operation and size, at every offset aligned to the size.
type sockProbeSet struct {
	typ    *kernel.ProgramType
	attach string // libbpf's name, "-" for a type without attach types
	op     string // ldx, stx, st: of the context; sk: a load through ctx->sk; ret: return a constant
	size   int    // bytes; for ret, 0
	// verdicts: Y accepted, - rejected, by offset / size (ret: by
	// value + 1, from -1 to 4).
	verdicts string
}

func (s *sockProbeSet) attachType() ebpf.AttachType {
	a, _ := s.typ.AttachNamed(s.attach)
	return a
}

// count is the number of probes of the set.
func (s *sockProbeSet) count() int {
	switch s.op {
	case "ret":
		return 6
	case "sk":
		return (kernel.SockDesc.Size + 8) / s.size
	}
	return (s.typ.Context.Size + 8) / s.size
}

var sockSizes = map[int]isa.Size{1: isa.SizeB, 2: isa.SizeH, 4: isa.SizeW, 8: isa.SizeDW}

// program is the probe i of the set.
func (s *sockProbeSet) program(i int) *Program {
	off := int16(i * s.size)
	sz := uint8(sockSizes[s.size])
	ret1 := isa.Instruction{Opcode: isa.OpMov64, Dst: isa.R0, Imm: 1}
	exit := isa.Instruction{Opcode: isa.OpExit}
	var insns isa.Instructions
	switch s.op {
	case "ldx":
		insns = isa.Instructions{{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | sz, Dst: isa.R0, Src: isa.R1, Offset: off}, ret1, exit}
	case "stx":
		insns = isa.Instructions{{Opcode: isa.OpMov64, Dst: isa.R2, Imm: 1}, {Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | sz, Dst: isa.R1, Src: isa.R2, Offset: off}, ret1, exit}
	case "st":
		insns = isa.Instructions{{Opcode: uint8(isa.ClassST) | uint8(isa.ModeMEM) | sz, Dst: isa.R1, Offset: off, Imm: 1}, ret1, exit}
	case "sk":
		skOff := int16(0)
		for _, f := range s.typ.Context.Fields {
			if f.Name == "sk" {
				skOff = int16(f.Off)
			}
		}
		// r2 = ctx->sk; if r2 == 0 goto out; r0 = *(r2 + off); out: r0 = 1
		insns = isa.Instructions{
			{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeDW), Dst: isa.R2, Src: isa.R1, Offset: skOff},
			{Opcode: uint8(isa.ClassJMP) | isa.JumpEq | isa.SourceK, Dst: isa.R2, Offset: 1},
			{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | sz, Dst: isa.R0, Src: isa.R2, Offset: off},
			ret1, exit,
		}
	case "ret":
		insns = isa.Instructions{{Opcode: isa.OpMov64, Dst: isa.R0, Imm: int64(i - 1)}, exit}
	}
	return &Program{Name: fmt.Sprintf("%s_%s_%s%d_%d", s.typ.Name, s.attach, s.op, s.size, i), Type: s.typ.Types[0], AttachType: s.attachType(), Instructions: insns}
}

// sockProbeSets lists the sets to record: every attach type of the four
// types, each access size and operation, the loads through sk and the
// return values.
func sockProbeSets() []*sockProbeSet {
	var out []*sockProbeSet
	for _, name := range []string{"cgroup_skb", "cgroup_sock", "cgroup_sock_addr", "sock_ops"} {
		pt, _, _ := kernel.ProgramTypeNamed(name)
		attaches := []string{"-"}
		if len(pt.Attach) > 0 {
			attaches = nil
			for _, a := range pt.Attach {
				attaches = append(attaches, a.Name)
			}
		}
		for _, a := range attaches {
			for _, op := range []string{"ldx", "stx", "st"} {
				for _, n := range []int{1, 2, 4, 8} {
					out = append(out, &sockProbeSet{typ: pt, attach: a, op: op, size: n})
				}
			}
			if name != "cgroup_sock" {
				for _, n := range []int{1, 2, 4, 8} {
					out = append(out, &sockProbeSet{typ: pt, attach: a, op: "sk", size: n})
				}
			}
			out = append(out, &sockProbeSet{typ: pt, attach: a, op: "ret"})
		}
	}
	return out
}

func readSockProbes(t *testing.T) []*sockProbeSet {
	f, err := os.Open(sockCtxFile)
	if err != nil {
		t.Fatalf("%v (record it as root: go test ./verifier -run TestSockContextKernel -record-sock)", err)
	}
	defer f.Close()
	var out []*sockProbeSet
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		w := strings.Fields(text)
		if len(w) != 5 {
			t.Fatalf("%s:%d: want TYPE ATTACH OP SIZE VERDICTS, got %q", sockCtxFile, line, text)
		}
		pt, _, ok := kernel.ProgramTypeNamed(w[0])
		size, err := strconv.Atoi(w[3])
		if !ok || err != nil {
			t.Fatalf("%s:%d: unknown program type %q or size %q", sockCtxFile, line, w[0], w[3])
		}
		s := &sockProbeSet{typ: pt, attach: w[1], op: w[2], size: size, verdicts: w[4]}
		if _, ok := pt.AttachNamed(s.attach); !ok && s.attach != "-" {
			t.Fatalf("%s:%d: %s has no attach type %q", sockCtxFile, line, pt.Name, s.attach)
		}
		if len(s.verdicts) != s.count() || strings.Trim(s.verdicts, "Y-") != "" {
			t.Fatalf("%s:%d: %d verdicts (Y or -), want %d", sockCtxFile, line, len(s.verdicts), s.count())
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSockContextParity: waggle's verifier gives the kernel's recorded
// verdict on every probe of the cgroup socket programs' contexts (each
// field, size, operation and attach type, loads through ctx->sk, return
// values), and what it accepts runs without a fault.
func TestSockContextParity(t *testing.T) {
	sets := readSockProbes(t)
	if want := len(sockProbeSets()); len(sets) != want {
		t.Errorf("%s has %d probe sets, the test makes %d: record it again (-record-sock)", sockCtxFile, len(sets), want)
	}
	agree, total, accepted := 0, 0, 0
	for _, s := range sets {
		for i := 0; i < s.count(); i++ {
			p := s.program(i)
			_, err := Verify(p, Options{})
			want := s.verdicts[i] == 'Y'
			total++
			if (err == nil) == want {
				agree++
			} else {
				t.Errorf("%s (offset %d): kernel accepted=%v, waggle: %v", p.Name, i*s.size, want, err)
			}
			if err == nil && s.op != "ret" {
				accepted++
				if err := checkSockRun(p); err != nil {
					t.Errorf("%s: accepted, but the run fails: %v", p.Name, err)
				}
			}
		}
	}
	t.Logf("waggle agrees with the kernel's verdicts on %d of %d socket context probes (%d accepted, all run)", agree, total, accepted)
}

// checkSockRun runs an accepted probe on a zero context (a full socket
// for sock_ops, so that sk is not NULL).
func checkSockRun(p *Program) error {
	size := 0
	if pt, ok := kernel.ProgramTypeOf(p.Type); ok {
		size = pt.Context.Size
	}
	ctx := make([]byte, size)
	var data []byte
	switch p.Type {
	case ebpf.SockOps:
		ctx[72] = 1 // is_fullsock
	case ebpf.CGroupSKB:
		data = make([]byte, 14+20)
		data[12], data[14] = 0x08, 0x45
	}
	return runProbe(p, data, ctx)
}

// TestSockContextKernel loads every probe into the kernel and checks its
// verdict is the recorded one; with -record-sock it records them.
func TestSockContextKernel(t *testing.T) {
	if err := kernelAvailable(); err != nil {
		t.Skipf("the kernel's verdicts need bpf() as root: %v", err)
	}
	if testing.Short() && !*recordSock {
		t.Skip("-short: tens of thousands of loads")
	}
	sets := sockProbeSets()
	var b strings.Builder
	b.WriteString("# The kernel's verdicts on probes of the cgroup socket programs' contexts\n")
	b.WriteString("# (verifier/sock_ctx_test.go): TYPE ATTACH OP SIZE, then Y (accepted) or -\n")
	b.WriteString("# for each offset aligned to SIZE from 0 to the context's size + 8; ret: the\n")
	b.WriteString("# values -1 to 4. Recorded as root with -record-sock.\n")
	differ := 0
	var recorded map[string]string
	if !*recordSock {
		recorded = map[string]string{}
		for _, s := range readSockProbes(t) {
			recorded[fmt.Sprintf("%s %s %s %d", s.typ.Name, s.attach, s.op, s.size)] = s.verdicts
		}
	}
	for _, s := range sets {
		v := make([]byte, s.count())
		for i := range v {
			ok, _, err := kernelVerify(s.program(i), 0)
			if err != nil {
				t.Fatal(err)
			}
			v[i] = '-'
			if ok {
				v[i] = 'Y'
			}
		}
		key := fmt.Sprintf("%s %s %s %d", s.typ.Name, s.attach, s.op, s.size)
		fmt.Fprintf(&b, "%s %s\n", key, v)
		if recorded != nil && recorded[key] != string(v) {
			differ++
			t.Errorf("%s: the kernel gives\n%s, recorded\n%s", key, v, recorded[key])
		}
	}
	if *recordSock {
		if err := os.MkdirAll(filepath.Dir(sockCtxFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sockCtxFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %d probe sets", len(sets))
	}
}

// runProbe runs p once in the interpreter on data and ctx.
func runProbe(p *Program, data, ctx []byte) error {
	r, err := newRunner(p)
	if err != nil {
		return err
	}
	defer r.close()
	r.m.Memory.Reset()
	args, err := r.run.Setup(&r.m.Memory, kernel.Input{Data: data, Context: ctx})
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	r.m.Packet = r.run.Packet()
	_, err = r.prog.Run(r.m, engine.RunArgs{R1: args[0], R2: args[1], R3: args[2], R4: args[3], R5: args[4], State: r.run, Budget: 1 << 20})
	var out kernel.Output
	r.run.Finish(&out)
	return err
}

// TestSockRejections: waggle's rejections of socket programs carry the
// kernel's message (recorded from Linux 6.18's log; checked against the
// running kernel as root) and say what is wrong in words naming the
// attach type.
func TestSockRejections(t *testing.T) {
	ldx := func(off int16) isa.Instruction {
		return isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R0, Src: isa.R1, Offset: off}
	}
	stx := func(off int16) isa.Instruction {
		return isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R1, Src: isa.R1, Offset: off}
	}
	mov := func(imm int64) isa.Instruction { return isa.Instruction{Opcode: isa.OpMov64, Dst: isa.R0, Imm: imm} }
	movR1 := isa.Instruction{Opcode: uint8(isa.ClassALU64) | isa.ALUMov | isa.SourceX, Dst: isa.R0, Src: isa.R1}
	exit := isa.Instruction{Opcode: isa.OpExit}
	for _, c := range []struct {
		typ, attach string
		insns       isa.Instructions
		kernel      string // the kernel's message
		reason      string // in waggle's reason
	}{
		{"cgroup_sock_addr", "recvmsg4", isa.Instructions{mov(0), exit},
			"At program exit the register R0 has smin=0 smax=0 should have been in [1, 1]", "attach type recvmsg4 must return a number in [1, 1]"},
		{"cgroup_skb", "egress", isa.Instructions{mov(4), exit},
			"At program exit the register R0 has smin=4 smax=4 should have been in [0, 3]", "may return the constant 4"},
		{"cgroup_skb", "ingress", isa.Instructions{mov(2), exit},
			"should have been in [0, 1]", "attach type ingress must return a number in [0, 1]"},
		{"cgroup_sock_addr", "connect4", isa.Instructions{movR1, exit},
			"At program exit the register R0 is not a known value (ctx)", "returns the context"},
		{"cgroup_sock_addr", "connect6", isa.Instructions{ldx(4), mov(1), exit},
			"invalid bpf_context access off=4 size=4", "(user_ip4 is for the attach types bind4, connect4, sendmsg4, recvmsg4, getpeername4, getsockname4)"},
		{"cgroup_sock_addr", "sendmsg6", isa.Instructions{stx(40), mov(1), exit},
			"invalid bpf_context access off=40 size=4", "(msg_src_ip4 is for the attach types sendmsg4)"},
		{"cgroup_sock", "post_bind4", isa.Instructions{stx(16), mov(1), exit},
			"invalid bpf_context access off=16 size=4", "(mark is for the attach types sock_create, sock_release)"},
		{"cgroup_sock", "sock_create", isa.Instructions{stx(4), mov(1), exit},
			"invalid bpf_context access off=4 size=4", "struct bpf_sock.family may not be written by cgroup_sock programs of attach type sock_create"},
		{"cgroup_skb", "ingress", isa.Instructions{{Opcode: uint8(isa.ClassLD) | uint8(isa.ModeABS) | uint8(isa.SizeB), Imm: 9}, mov(1), exit},
			"BPF_LD_[ABS|IND] instructions not allowed for this program type", "LD_ABS"},
		{"cgroup_skb", "egress", isa.Instructions{
			{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R2, Src: isa.R1, Offset: 76},
			{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R3, Src: isa.R1, Offset: 80},
			{Opcode: uint8(isa.ClassALU64) | isa.ALUMov | isa.SourceX, Dst: isa.R4, Src: isa.R2},
			{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd | isa.SourceK, Dst: isa.R4, Imm: 1},
			{Opcode: uint8(isa.ClassJMP) | isa.JumpGT | isa.SourceX, Dst: isa.R4, Src: isa.R3, Offset: 1},
			{Opcode: uint8(isa.ClassST) | uint8(isa.ModeMEM) | uint8(isa.SizeB), Dst: isa.R2},
			mov(1), exit},
			"cannot write into packet", "packet"},
		{"sock_ops", "-", isa.Instructions{stx(8), mov(1), exit},
			"invalid bpf_context access off=8 size=4", "struct bpf_sock_ops.args may not be written by SockOps programs"},
	} {
		pt, _, _ := kernel.ProgramTypeNamed(c.typ)
		a, _ := pt.AttachNamed(c.attach)
		p := &Program{Name: c.typ + "_" + c.attach, Type: pt.Types[0], AttachType: a, Instructions: c.insns}
		_, err := Verify(p, Options{})
		var ve *Error
		if !errors.As(err, &ve) {
			t.Errorf("%s: %v; want a rejection", p.Name, err)
			continue
		}
		if !strings.Contains(ve.KernelMessage, c.kernel) || !strings.Contains(ve.Reason, c.reason) {
			t.Errorf("%s: kernel message %q, reason %q; want %q and %q", p.Name, ve.KernelMessage, ve.Reason, c.kernel, c.reason)
		}
		if kernelAvailable() == nil {
			ok, log, err := kernelVerify(p, 0)
			if err != nil {
				t.Fatal(err)
			}
			if ok || !strings.Contains(log, c.kernel) {
				t.Errorf("%s: the kernel accepted=%v, its log has no %q:\n%s", p.Name, ok, c.kernel, lastLines(log, 6))
			}
		}
	}
}

// TestSockStrict: under the rules for unprivileged programs (Strict),
// cgroup_skb programs may not read data and data_end nor write tstamp,
// as cg_skb_is_valid_access without CAP_BPF and CAP_SYS_ADMIN; the
// other fields are as for root.
func TestSockStrict(t *testing.T) {
	_, typ, _ := kernel.ProgramTypeNamed("cgroup_skb")
	for _, c := range []struct {
		name   string
		ins    isa.Instruction
		refuse bool
	}{
		{"data", isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R0, Src: isa.R1, Offset: 76}, true},
		{"data_end", isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R0, Src: isa.R1, Offset: 80}, true},
		{"tstamp write", isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(isa.SizeDW), Dst: isa.R1, Src: isa.R2, Offset: 152}, true},
		{"tstamp read", isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeDW), Dst: isa.R0, Src: isa.R1, Offset: 152}, false},
		{"mark write", isa.Instruction{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R1, Src: isa.R2, Offset: 8}, false},
		{"len", isa.Instruction{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R0, Src: isa.R1, Offset: 0}, false},
	} {
		p := &Program{Name: c.name, Type: typ, Instructions: isa.Instructions{
			{Opcode: isa.OpMov64, Dst: isa.R2, Imm: 1}, c.ins, {Opcode: isa.OpMov64, Dst: isa.R0, Imm: 1}, {Opcode: isa.OpExit}}}
		if _, err := Verify(p, Options{}); err != nil {
			t.Errorf("%s: root: %v", c.name, err)
		}
		_, err := Verify(p, Options{Strict: true})
		var ve *Error
		switch {
		case c.refuse && (!errors.As(err, &ve) || !strings.Contains(ve.Reason, "only by privileged programs") || !strings.Contains(ve.KernelMessage, "invalid bpf_context access")):
			t.Errorf("%s: strict: %v; want a refusal for unprivileged programs", c.name, err)
		case !c.refuse && err != nil:
			t.Errorf("%s: strict: %v", c.name, err)
		}
	}
}
