package waggle_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// kernelCollection loads the object at path into the kernel with
// cilium/ebpf, or skips the test with the reason it cannot.
func kernelCollection(t *testing.T, path string, prog string) *ebpf.Collection {
	t.Helper()
	if err := kerneltest.Available(); err != nil {
		t.Skip(err)
	}
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := kerneltest.LoadCollection(spec, ebpf.CollectionOptions{}, prog)
	kerneltest.SkipIfUnsupported(t, err)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	return coll
}

// waggleCollection loads the object at path into waggle.
func waggleCollection(t *testing.T, path string) *waggle.Collection {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	return coll
}

// errnoOf is the errno an error matches, of those these tests compare.
func errnoOf(err error) errno.Errno {
	for _, e := range []errno.Errno{errno.EINVAL, errno.ENOSPC, errno.ENOENT, errno.EPERM, errno.EBUSY, errno.E2BIG, errno.EEXIST, errno.EOPNOTSUPP, errno.EFAULT, errno.ENOMEM, errno.ENOTSUPP} {
		if errors.Is(err, e) {
			return e
		}
	}
	return 0
}

var testRunCases = []struct {
	name, object, program string
	in                    []byte
}{
	{"vlan push", "testdata/progs/xdp_adjust.o", "xdp_vlan_push", kerneltest.FrameTCP4()},
	{"vlan pop", "testdata/progs/xdp_adjust.o", "xdp_vlan_pop", kerneltest.FrameVLANTCP4()},
	{"vlan pop untagged", "testdata/progs/xdp_adjust.o", "xdp_vlan_pop", kerneltest.FrameTCP4()},
	{"tail cut", "testdata/progs/xdp_adjust.o", "xdp_tail", kerneltest.FrameBigUDP4()},
	{"tail grow", "testdata/progs/xdp_adjust.o", "xdp_tail", kerneltest.FrameUDP4()},
	{"meta", "testdata/progs/xdp_adjust.o", "xdp_meta", kerneltest.FrameUDP4()},
	{"firewall", "examples/firewall/firewall.o", "firewall", kerneltest.FrameTCP4()},
	{"firewall, 14 bytes", "examples/firewall/firewall.o", "firewall", kerneltest.FrameMinimal()},
	{"XDP, 13 bytes", "examples/firewall/firewall.o", "firewall", kerneltest.FrameTCP4()[:13]},
	{"XDP, no data", "examples/firewall/firewall.o", "firewall", nil},
}

// TestProgramTestKernel runs Program.Test on the same objects and inputs
// in waggle and, as root, in the kernel, and compares the return values,
// the data out and the errnos.
func TestProgramTestKernel(t *testing.T) {
	for _, tc := range testRunCases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(kerneltest.RepoRoot(), tc.object)
			wRet, wOut, wErr := waggleCollection(t, path).Programs[tc.program].Test(tc.in)
			if wErr != nil && !strings.Contains(wErr.Error(), "test program") {
				t.Errorf("error %q does not say what failed", wErr)
			}
			kRet, kOut, kErr := kernelCollection(t, path, tc.program).Programs[tc.program].Test(tc.in)
			if errnoOf(wErr) != errnoOf(kErr) || (wErr == nil) != (kErr == nil) {
				t.Fatalf("waggle: %v; kernel: %v", wErr, kErr)
			}
			if wRet != kRet {
				t.Errorf("return value %d, the kernel's %d", wRet, kRet)
			}
			if !bytes.Equal(wOut, kOut) || (wOut == nil) != (kOut == nil) {
				t.Errorf("data out\n%x\nthe kernel's\n%x", wOut, kOut)
			}
		})
	}
}

// TestProgramBenchmarkKernel compares Program.Benchmark's return value and
// errors with the kernel's (the durations are not compared).
func TestProgramBenchmarkKernel(t *testing.T) {
	for _, tc := range testRunCases {
		for _, repeat := range []int{0, 1, 3} {
			t.Run(tc.name, func(t *testing.T) {
				path := filepath.Join(kerneltest.RepoRoot(), tc.object)
				wRet, wDur, wErr := waggleCollection(t, path).Programs[tc.program].Benchmark(tc.in, repeat, nil)
				if wErr == nil && wDur < 0 {
					t.Errorf("duration %v", wDur)
				}
				kRet, _, kErr := kernelCollection(t, path, tc.program).Programs[tc.program].Benchmark(tc.in, repeat, nil)
				if errnoOf(wErr) != errnoOf(kErr) || (wErr == nil) != (kErr == nil) {
					t.Fatalf("repeat %d: waggle: %v; kernel: %v", repeat, wErr, kErr)
				}
				if wRet != kRet {
					t.Errorf("repeat %d: return value %d, the kernel's %d", repeat, wRet, kRet)
				}
			})
		}
	}
}

// TestProgramBenchmarkRepeat checks Benchmark's bounds on repeat and that
// it runs the program repeat times (counted in a map), once for 0.
func TestProgramBenchmarkRepeat(t *testing.T) {
	path := filepath.Join(kerneltest.RepoRoot(), "examples/firewall/firewall.o")
	for _, tc := range []struct {
		repeat  int
		runs    uint64
		wantErr string
	}{
		{repeat: 0, runs: 1},
		{repeat: 1, runs: 1},
		{repeat: 5, runs: 5},
		{repeat: -1, wantErr: "repeat is -1"},
		{repeat: 1 << 32, wantErr: "repeat is 4294967296"},
	} {
		coll := waggleCollection(t, path)
		ret, _, err := coll.Programs["firewall"].Benchmark(kerneltest.FrameTCP4(), tc.repeat, func() { t.Error("reset called") })
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("repeat %d: error %v, want %q", tc.repeat, err, tc.wantErr)
			}
			continue
		}
		if err != nil || ret != 2 {
			t.Fatalf("repeat %d: %d, %v", tc.repeat, ret, err)
		}
		var passed uint64
		if err := coll.Maps["drop_counts"].Lookup(uint32(0), &passed); err != nil {
			t.Fatal(err)
		}
		if passed != tc.runs {
			t.Errorf("repeat %d: %d runs counted, want %d", tc.repeat, passed, tc.runs)
		}
	}
}
