package verifiertest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// KernelVerdict loads c into the running kernel, as the process's user
// (root gives the privileged verifier), and reports whether the kernel's
// verifier accepted it. log is the verifier's log at level BPF_LOG_STATS:
// the error lines and the statistics, without the instruction trace (a
// rejected program's log ends with its reason; an accepted one's has only
// the statistics). When the kernel refused the program without a log (a
// program too long to be loaded at all, for instance), log is the error's
// text. err is for failures that are not a verdict: no usable kernel, a
// map the kernel cannot create, a program that cannot be encoded, or
// EFAULT, which the kernel returns when its verifier hits a bug of its own.
//
// Every map of c.Maps is created for the load and closed afterwards; a map
// reference of the program (see Case.Instructions) gets the created map's
// file descriptor. Syscall programs are loaded with BPF_F_SLEEPABLE, which
// the kernel requires of them. The license is "GPL".
func KernelVerdict(c Case) (accept bool, log string, err error) {
	return kernelLoad(c, ebpf.LogLevelStats)
}

// KernelTrace is KernelVerdict with the verifier's full log: every
// instruction it walked with the register and stack states
// (BPF_LOG_LEVEL1|BPF_LOG_LEVEL2|BPF_LOG_STATS), to see how the kernel
// reached its verdict. The log of a long program can be large.
func KernelTrace(c Case) (accept bool, log string, err error) {
	return kernelLoad(c, ebpf.LogLevelBranch|ebpf.LogLevelInstruction|ebpf.LogLevelStats)
}

func kernelLoad(c Case, level ebpf.LogLevel) (accept bool, log string, err error) {
	if err := kerneltest.Available(); err != nil {
		return false, "", err
	}
	maps := make([]*ebpf.Map, len(c.Maps))
	defer func() {
		for _, m := range maps {
			if m != nil {
				m.Close()
			}
		}
	}()
	for i, ms := range c.Maps {
		m, err := ebpf.NewMap(ms)
		if err != nil {
			return false, "", fmt.Errorf("verifiertest: %s: create map %d (%s): %w", c.Name, i, ms.Type, err)
		}
		maps[i] = m
	}

	insns, err := asm.AppendInstructions(nil, bytes.NewReader(c.Instructions.Encode()), binary.LittleEndian, "linux")
	if err != nil {
		return false, "", fmt.Errorf("verifiertest: %s: convert instructions: %w", c.Name, err)
	}
	for i := range insns {
		ins := &insns[i]
		if !ins.IsLoadFromMap() {
			continue
		}
		idx := int(int32(ins.Constant))
		if idx < 0 || idx >= len(maps) {
			return false, "", fmt.Errorf("verifiertest: %s: instruction %d refers to map %d of %d", c.Name, i, idx, len(maps))
		}
		if err := ins.AssociateMap(maps[idx]); err != nil {
			return false, "", fmt.Errorf("verifiertest: %s: instruction %d: %w", c.Name, i, err)
		}
	}

	if c.FuncInfo {
		long := &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
		proto := &btf.FuncProto{Return: long}
		for n, i := range FunctionStarts(c.Instructions) {
			name := "main"
			if n > 0 {
				name = fmt.Sprintf("func%d", n)
			}
			insns[i] = btf.WithFuncMetadata(insns[i], &btf.Func{Name: name, Type: proto, Linkage: btf.StaticFunc})
		}
	}

	spec := &ebpf.ProgramSpec{
		Name:         progName(c.Name),
		Type:         c.Type,
		Instructions: insns,
		License:      "GPL",
	}
	if c.Type == ebpf.Syscall {
		spec.Flags = bpfFSleepable
	}
	prog, err := ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{
		LogLevel:     level,
		LogSizeStart: 1 << 20,
	})
	if err == nil {
		log := prog.VerifierLog
		prog.Close()
		return true, log, nil
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		log := strings.Join(ve.Log, "\n")
		if strings.TrimSpace(log) == "" {
			log = ve.Cause.Error()
		}
		return false, log, nil
	}
	// Refused before the verifier ran (E2BIG for too many instructions,
	// for instance): the error is the verdict.
	if errors.Is(err, errno.E2BIG) || errors.Is(err, errno.EINVAL) || errors.Is(err, errno.EACCES) || errors.Is(err, errno.EPERM) {
		return false, err.Error(), nil
	}
	return false, "", fmt.Errorf("verifiertest: %s: load: %w", c.Name, err)
}

// progName makes a kernel object name (at most 15 characters of
// [A-Za-z0-9_.]) from a case name.
func progName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if b.Len() == 15 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// KeyLine picks the key line of a rejected program's verifier log (the
// log KernelVerdict returns): its first line that is not a statistic or
// empty. At BPF_LOG_STATS the log of a rejection is its error lines, the
// specific one first ("invalid access to packet, off=14 size=1, ...") and
// sometimes a summary after it ("R2 offset is outside of the packet"). It
// is what -update records when a case has no message yet, or when its
// message is no longer in the log.
func KeyLine(log string) string {
	for _, line := range strings.Split(log, "\n") {
		// Some messages lack their newline and run into the statistics.
		line, _, _ = strings.Cut(line, "verification time")
		l := strings.TrimSpace(line)
		switch {
		case l == "",
			strings.HasPrefix(l, "processed "),
			strings.HasPrefix(l, "verification time"),
			strings.HasPrefix(l, "stack depth"),
			strings.HasPrefix(l, "-- END"),
			strings.HasPrefix(l, "(truncated"):
			continue
		}
		return l
	}
	return ""
}

// KernelExplains says why the host kernel's verdict on c may differ from
// the recorded one, or "" when nothing explains it: the kernel lacks the
// case's program type, a helper it calls or a map type it uses (probed
// with minimal programs and maps), or it lacks the change of the verifier
// that the verdict depends on (c.KernelChange, probed with the change's
// own program). err is for a probe that failed.
func KernelExplains(c Case) (string, error) {
	insns, err := asm.AppendInstructions(nil, bytes.NewReader(c.Instructions.Encode()), binary.LittleEndian, "linux")
	if err != nil {
		return "", fmt.Errorf("verifiertest: %s: convert instructions: %w", c.Name, err)
	}
	ue, err := kerneltest.ProgramLacks(progName(c.Name), c.Type, insns)
	if err != nil || ue != nil {
		return errString(ue), err
	}
	for _, ms := range c.Maps {
		if ue, err := kerneltest.MapLacks(ms.Type); err != nil || ue != nil {
			return errString(ue), err
		}
	}
	if c.KernelChange != "" {
		change := kerneltest.VerifierChangeNamed(c.KernelChange)
		has, err := change.Has()
		if err != nil || !has {
			return change.Lacking(), err
		}
	}
	return "", nil
}

func errString(ue *kerneltest.UnsupportedError) string {
	if ue == nil {
		return ""
	}
	return ue.Error()
}

// bpfFSleepable is BPF_F_SLEEPABLE, which golang.org/x/sys/unix defines on
// Linux only.
const bpfFSleepable = 1 << 4
