package kerneltest

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

func TestHelperName(t *testing.T) {
	for _, tc := range []struct {
		fn   asm.BuiltinFunc
		want string
	}{
		{asm.FnMapLookupElem, "bpf_map_lookup_elem#1"},
		{asm.FnProbeRead, "bpf_probe_read#4"},
		{asm.FnGetSmpProcessorId, "bpf_get_smp_processor_id#8"},
		{asm.FnXdpAdjustMeta, "bpf_xdp_adjust_meta#54"},
		{asm.FnKtimeGetCoarseNs, "bpf_ktime_get_coarse_ns#160"},
	} {
		if got := HelperName(tc.fn); got != tc.want {
			t.Errorf("HelperName(%v) = %q, want %q", tc.fn, got, tc.want)
		}
	}
}

// The programs of TestLoadCollection's object. No kernel lets an XDP
// program call bpf_probe_read (a tracing helper), which stands for a
// helper that the host kernel lacks.
var (
	progPass = asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}
	progHelp = asm.Instructions{
		asm.Mov.Reg(asm.R1, asm.R10), asm.Add.Imm(asm.R1, -8),
		asm.Mov.Imm(asm.R2, 8), asm.Mov.Imm(asm.R3, 0),
		asm.FnProbeRead.Call(),
		asm.Mov.Imm(asm.R0, 2), asm.Return(),
	}
	progBad = asm.Instructions{asm.Mov.Reg(asm.R0, asm.R2), asm.Return()} // reads r2, never written
)

// TestLoadCollection checks which refusals LoadCollection explains with a
// missing feature: the programs that need it are left out of the load, a
// test of one of them gets an *UnsupportedError, and any other refusal is
// returned as it is.
func TestLoadCollection(t *testing.T) {
	needKernel(t)
	for _, tc := range []struct {
		name  string
		progs map[string]asm.Instructions
		jumps []string // programs in the prog array "jumps", by slot
		run   string
		// want: "" loads (with the programs of loaded); "unsupported"
		// is an *UnsupportedError about feature; else the error says want.
		want    string
		feature string
		loaded  []string
	}{
		{name: "all supported", progs: map[string]asm.Instructions{"pass": progPass}, run: "pass", loaded: []string{"pass"}},
		{name: "another program lacks a helper", progs: map[string]asm.Instructions{"pass": progPass, "help": progHelp},
			jumps: []string{"help", "pass"}, run: "pass", loaded: []string{"pass"}},
		{name: "the program run lacks a helper", progs: map[string]asm.Instructions{"pass": progPass, "help": progHelp},
			run: "help", want: "unsupported", feature: "the helper bpf_probe_read#4 for XDP programs"},
		{name: "a refusal no feature explains", progs: map[string]asm.Instructions{"pass": progPass, "bad": progBad},
			run: "pass", want: "R2 !read_ok"},
		{name: "a refusal no feature explains, beside one it does", progs: map[string]asm.Instructions{"help": progHelp, "bad": progBad},
			run: "bad", want: "R2 !read_ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &ebpf.CollectionSpec{Programs: map[string]*ebpf.ProgramSpec{}, Maps: map[string]*ebpf.MapSpec{}}
			for name, insns := range tc.progs {
				spec.Programs[name] = &ebpf.ProgramSpec{Name: name, Type: ebpf.XDP, License: "GPL", Instructions: insns}
			}
			if tc.jumps != nil {
				ms := &ebpf.MapSpec{Name: "jumps", Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: uint32(len(tc.jumps))}
				for i, name := range tc.jumps {
					ms.Contents = append(ms.Contents, ebpf.MapKV{Key: uint32(i), Value: name})
				}
				spec.Maps["jumps"] = ms
			}
			coll, err := LoadCollection(spec, ebpf.CollectionOptions{}, tc.run)
			var ue *UnsupportedError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("LoadCollection: %v", err)
			case tc.want == "":
				defer coll.Close()
				if got := sortedKeys(coll.Programs); strings.Join(got, " ") != strings.Join(tc.loaded, " ") {
					t.Errorf("loaded %v, want %v", got, tc.loaded)
				}
			case tc.want == "unsupported":
				if !errors.As(err, &ue) {
					t.Fatalf("LoadCollection: %v, want an *UnsupportedError", err)
				}
				if ue.Feature != tc.feature || ue.Program != tc.run || ue.Kernel != Release() {
					t.Errorf("UnsupportedError{Kernel: %q, Feature: %q, Program: %q}, want %q, %q, %q", ue.Kernel, ue.Feature, ue.Program, Release(), tc.feature, tc.run)
				}
				var ve *ebpf.VerifierError
				if !errors.As(err, &ve) || !errors.Is(err, ebpf.ErrNotSupported) {
					t.Errorf("%v does not wrap both the verifier's refusal and the probe's error", err)
				}
				var skipped bool
				t.Run("skip", func(t *testing.T) {
					defer func() { skipped = t.Skipped() }()
					SkipIfUnsupported(t, err)
				})
				if !skipped {
					t.Error("SkipIfUnsupported did not skip")
				}
			default:
				if err == nil {
					coll.Close()
					t.Fatalf("LoadCollection succeeded, want %q", tc.want)
				}
				if errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("LoadCollection: %v, want an error with %q that is no *UnsupportedError", err, tc.want)
				}
			}
		})
	}
}

// TestVerifierChanges loads each change's probe: the host kernel's verifier
// must accept it (the kernel has the change) or reject it with the
// change's message (the kernel predates it), nothing else.
func TestVerifierChanges(t *testing.T) {
	needKernel(t)
	names := map[string]bool{}
	for _, c := range VerifierChanges {
		if names[c.Name] || VerifierChangeNamed(c.Name) != c {
			t.Errorf("change %s is listed twice", c.Name)
		}
		names[c.Name] = true
		has, err := c.Has()
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if !has {
			t.Logf("%s", c.Lacking())
		} else {
			t.Logf("kernel %s has verifier change %s", Release(), c.Name)
		}
	}
}
