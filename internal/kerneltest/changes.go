package kerneltest

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// VerifiedOn is the kernel whose verifier waggle's verifier and its
// corpus's recorded verdicts follow.
const VerifiedOn = "Linux 6.18.44"

// A VerifierChange is a change of the kernel's verifier between kernel
// versions that decides verdicts: more precise bounds that let it accept
// programs it rejected before, for instance. waggle's verifier and the
// verdicts recorded in its corpus follow VerifiedOn, which has every
// change listed in VerifierChanges; on a host kernel without one (found by
// loading the change's probe), a test that compares verdicts with the
// kernel reports the differences the change explains instead of failing.
type VerifierChange struct {
	// Name names the change in the corpus's case files
	// ("# kernel-change: NAME").
	Name string
	// Description says what changed.
	Description string
	// Probe is a socket filter that a kernel with the change accepts and
	// a kernel without it rejects with a log that has ProbeMessage.
	Probe        asm.Instructions
	ProbeMessage string

	once sync.Once
	has  bool
	err  error
}

// Has reports whether the host kernel's verifier has the change, by
// loading the probe (once). The error is for a probe that says neither:
// no usable kernel, or a rejection for another reason.
func (c *VerifierChange) Has() (bool, error) {
	c.once.Do(func() {
		if err := Available(); err != nil {
			c.err = err
			return
		}
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name: "probe", Type: ebpf.SocketFilter, License: "GPL", Instructions: c.Probe,
		})
		if err == nil {
			prog.Close()
			c.has = true
			return
		}
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) && strings.Contains(strings.Join(ve.Log, "\n"), c.ProbeMessage) {
			return
		}
		c.err = fmt.Errorf("kerneltest: the probe of verifier change %s was rejected for another reason than %q: %w", c.Name, c.ProbeMessage, verifierDetail(err))
	})
	return c.has, c.err
}

// Lacking says, for a test's report, that the host kernel lacks the
// change.
func (c *VerifierChange) Lacking() string {
	return fmt.Sprintf("kernel %s lacks verifier change %s (%s), which %s has", Release(), c.Name, c.Description, VerifiedOn)
}

// Sext32: a 64-bit sign extension (movsx, ldsx) of a source whose 64-bit
// range neither keeps its bits above the narrow type nor stays on one side
// of zero takes its bounds from the source's 32-bit bounds, which decide
// it: a 32-bit signed range that lies in the narrow type stays as it is,
// even across zero ((s32) of [-32768, 32767] stays so), and (s32) gives the
// 32-bit range. Before, coerce_reg_to_size_sx gave the whole narrow type
// there, as upstream's did until at least late 2025; Linux 6.18.44 does the
// former.
var Sext32 = &VerifierChange{
	Name:        "sext-32bit-bounds",
	Description: "a 64-bit sign extension takes its bounds from the source's 32-bit bounds, so a range in the narrow type stays, even across zero",
	Probe: asm.Instructions{
		asm.FnGetPrandomU32.Call(),
		asm.And.Imm(asm.R0, 0x7f),
		asm.Sub.Imm(asm.R0, 64),                    // [-64, 63]
		asm.MovSX8.Reg(asm.R0, asm.R0),             // r0 = (s8)r0
		asm.JSLE.Imm(asm.R0, 63, "ok"),             // always taken, with the change
		asm.LoadMem(asm.R0, asm.R10, 8, asm.DWord), // above the stack
		asm.Mov.Imm(asm.R0, 0).WithSymbol("ok"),
		asm.Return(),
	},
	ProbeMessage: "invalid read from stack",
}

// Cross64: a 64-bit signed range across zero is tightened with the
// unsigned bounds, as the 32-bit one always was: [-1, S64_MAX] with
// umax 0xfffffffffffffff0 is [0, 0x7ffffffffffffff0]. The Linux 6.18 that
// waggle's corpus was first recorded on did not do it; Linux 6.18.44 does.
var Cross64 = &VerifierChange{
	Name:        "s64-cross-sign",
	Description: "a 64-bit signed range across zero is tightened with the unsigned bounds",
	Probe: asm.Instructions{
		asm.FnGetPrandomU32.Call(),
		asm.Mov.Reg(asm.R3, asm.R0),
		asm.And.Imm(asm.R3, -16),       // umax 0xfffffffffffffff0
		asm.JSLT.Imm(asm.R3, -1, "ok"), // then [-1, S64_MAX], with the change [0, 0x7ffffffffffffff0]
		asm.Mov.Reg(asm.R4, asm.R3),
		asm.RSh.Imm(asm.R4, 63), // the sign bit: 0, with the change
		asm.JEq.Imm(asm.R4, 0, "ok"),
		asm.LoadMem(asm.R0, asm.R10, 8, asm.DWord), // above the stack
		asm.Mov.Imm(asm.R0, 0).WithSymbol("ok"),
		asm.Return(),
	},
	ProbeMessage: "invalid read from stack",
}

// VerifierChanges are the changes of the kernel's verifier that are known
// to decide verdicts in waggle's tests.
var VerifierChanges = []*VerifierChange{Sext32, Cross64}

// VerifierChangeNamed returns the change of VerifierChanges called name, or
// nil.
func VerifierChangeNamed(name string) *VerifierChange {
	for _, c := range VerifierChanges {
		if c.Name == name {
			return c
		}
	}
	return nil
}
