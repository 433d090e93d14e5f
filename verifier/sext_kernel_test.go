package verifier

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// TestSignExtensionAgainstKernel compares the bounds waggle gives a
// register after a sign extension with the kernel's, as root: generated
// source registers (a random number through a few ALU operations and
// signed comparisons), then each extension (movsx from 8, 16 and 32 bits
// in the 64-bit ALU, from 8 and 16 in the 32-bit ALU, ldsx of the spilled
// register); both verifiers' logs give the register after it. Where the
// two already disagree on the source register (other transfer functions),
// the extension is not compared.
func TestSignExtensionAgainstKernel(t *testing.T) {
	t.Parallel() // one of the package's long tests, which share the CPUs
	if testing.Short() || kernelAvailable() != nil {
		t.Skip("needs the kernel (root)")
	}
	for _, c := range []*kerneltest.VerifierChange{kerneltest.Sext32, kerneltest.Cross64} {
		if has, err := c.Has(); err != nil || !has {
			t.Skipf("skipped: %s (%v): the extensions differ by design", c.Lacking(), err)
		}
	}
	rng := rand.New(rand.NewPCG(7, 9))
	consts := []string{"0xff", "0x1f", "0xf0", "0x7f", "0x7fff", "0xffff", "0xfff0", "16", "100", "200", "0x80", "0x8000", "1", "3", "0x7fffffff", "-1", "-16", "-200", "0x3f"}
	ops := []string{"and", "or", "add", "sub", "and32", "add32", "sub32", "or32", "xor", "mul"}
	exts := []string{"movsx864", "movsx1664", "movsx3264", "movsx832", "movsx1632", "ldxsb", "ldxsh", "ldxsw"}
	compared, sourcesDiffer := 0, 0
	for range 600 {
		var b strings.Builder
		b.WriteString("call 7\nmov %r3, %r0\n")
		for range 1 + rng.IntN(3) {
			switch rng.IntN(6) {
			case 0:
				fmt.Fprintf(&b, "lddw %%r4, %#x\nand %%r3, %%r4\n", uint64(1)<<32|uint64(rng.IntN(0x1000)))
			case 1:
				fmt.Fprintf(&b, "jsgt %%r3, %d, out\n", []int{-300, -129, -128, -100, -16, -1, 0, 1, 15, 100, 127, 128, 255, 300, 32767, 40000}[rng.IntN(16)])
			case 2:
				fmt.Fprintf(&b, "jslt %%r3, %d, out\n", []int{-300, -129, -128, -100, -16, -1, 0, 1, 15, 100, 127, 128}[rng.IntN(12)])
			default:
				fmt.Fprintf(&b, "%s %%r3, %s\n", ops[rng.IntN(len(ops))], consts[rng.IntN(len(consts))])
			}
		}
		for _, ext := range exts {
			src := b.String() + ext + " %r4, %r3\n"
			if strings.HasPrefix(ext, "ldxs") {
				src = b.String() + "stxdw [%r10-8], %r3\n" + ext + " %r4, [%r10-8]\n"
			}
			src += "mov %r0, 0\nexit\n"
			if strings.Contains(src, "out\n") {
				src += "out:\nmov %r0, 0\nexit\n"
			}
			insns, err := assembler.Assemble(src)
			if err != nil {
				t.Fatal(err)
			}
			at := 0 // the extension's slot, as both logs number instructions
			for _, ins := range insns {
				ldsx := ins.Opcode == 0x91 || ins.Opcode == 0x89 || ins.Opcode == 0x81
				movsx := ins.Offset != 0 && (ins.Opcode == 0xbf || ins.Opcode == 0xbc)
				if ldsx || movsx {
					break
				}
				at += ins.Slots()
			}
			p := &Program{Name: "sext", Type: ebpf.RawTracepoint, Instructions: insns}
			var wlog bytes.Buffer
			_, werr := Verify(p, Options{Log: &wlog, LogLevel: 2})
			ok, klog, kerr := kernelVerify(p, ebpf.LogLevelInstruction)
			if kerr != nil {
				t.Fatal(kerr)
			}
			if !ok || werr != nil {
				t.Errorf("%s: kernel accepted=%v, waggle %v", src, ok, werr)
				continue
			}
			// The source, r3, as the extension's line or, for ldsx, the
			// spill's line before it gives it; the result, r4.
			srcAt := at
			if strings.HasPrefix(ext, "ldxs") {
				srcAt = at - 1
			}
			kBefore, kAfter := regAt(klog, srcAt, 3), regAt(klog, at, 4)
			wBefore, wAfter := regAt(wlog.String(), srcAt, 3), regAt(wlog.String(), at, 4)
			if kAfter == "" && wAfter == "" {
				continue // no path reaches the extension
			}
			if kAfter == "" || wAfter == "" || parseRegState(kBefore) != parseRegState(wBefore) {
				sourcesDiffer++
				continue
			}
			compared++
			if parseRegState(kAfter) != parseRegState(wAfter) {
				t.Errorf("%s of R3=%s:\nkernel R4=%s\nwaggle R4=%s\nprogram:\n%s", ext, kBefore, kAfter, wAfter, src)
			}
		}
	}
	t.Logf("%d extensions compared; %d not, where the source registers (or the paths that reach them) differ", compared, sourcesDiffer)
}

var regState = regexp.MustCompile(`R([0-9])=(scalar\([^()]*(?:\([^()]*\))?[^()]*\)|[-0-9a-fx]+)`)

// regAt returns register r's state on the line of a log at level 2 that
// shows the instruction at slot, "" when there is none.
func regAt(log string, slot, r int) string {
	prefix := fmt.Sprintf("%d: (", slot)
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		for _, m := range regState.FindAllStringSubmatch(line, -1) {
			if m[1] == strconv.Itoa(r) {
				return m[2]
			}
		}
	}
	return ""
}

// parseRegState reads a scalar's state as the kernel prints it ("5",
// "scalar(id=2,smin=smin32=-16,smax=smax32=15,var_off=(0x0; 0xf))") into
// a canonical string of every bound (ids left out), so that two prints of
// the same state compare equal whatever their form.
func parseRegState(s string) string {
	if !strings.HasPrefix(s, "scalar(") {
		return "const " + hexOf(s, 64)
	}
	f := map[string]string{
		"smin": hexOf("-9223372036854775808", 64), "smax": hexOf("9223372036854775807", 64),
		"umin": "0", "umax": hexOf("18446744073709551615", 64),
		"smin32": hexOf("-2147483648", 32), "smax32": hexOf("2147483647", 32),
		"umin32": "0", "umax32": hexOf("4294967295", 32), "var_off": "unknown",
	}
	body := strings.TrimSuffix(strings.TrimPrefix(s, "scalar("), ")")
	if i := strings.Index(body, "var_off=("); i >= 0 {
		v, m, _ := strings.Cut(strings.TrimSuffix(body[i+len("var_off=("):], ")"), "; ")
		f["var_off"] = hexOf(v, 64) + ";" + hexOf(m, 64)
		body = strings.TrimSuffix(body[:i], ",")
	}
	for _, tok := range strings.Split(body, ",") {
		keys := strings.Split(tok, "=")
		for _, k := range keys[:len(keys)-1] {
			if _, ok := f[k]; ok {
				bits := 64
				if strings.HasSuffix(k, "32") {
					bits = 32
				}
				f[k] = hexOf(keys[len(keys)-1], bits)
			}
		}
	}
	return fmt.Sprint(f)
}

// hexOf writes a number of the logs (decimal, possibly negative, or hex)
// as the hex of its two's complement in bits.
func hexOf(s string, bits int) string {
	var u uint64
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		u, _ = strconv.ParseUint(h, 16, 64)
	} else if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		u = uint64(i)
	} else {
		u, _ = strconv.ParseUint(s, 10, 64)
	}
	if bits == 32 {
		u = uint64(uint32(u))
	}
	return strconv.FormatUint(u, 16)
}
