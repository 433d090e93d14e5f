//go:build linux

package maps

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// errnoByName holds the errnos that map creation gives.
var errnoByName = map[string]unix.Errno{"EINVAL": unix.EINVAL, "E2BIG": unix.E2BIG, "ENOMEM": unix.ENOMEM,
	"EPERM": unix.EPERM, "EOPNOTSUPP": unix.EOPNOTSUPP, "ENOTSUPP": 524}

// limitCase is a row of testdata/kernel_limits.txt.
type limitCase struct {
	name           string
	spec           Spec
	kernel, waggle unix.Errno // 0: created
	run            string     // "yes", or why the kernel is not asked
	line           int
}

// readLimitCases parses testdata/kernel_limits.txt.
func readLimitCases(t *testing.T) []limitCase {
	t.Helper()
	f, err := os.Open("testdata/kernel_limits.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	types := map[string]ebpf.MapType{}
	for _, typ := range []ebpf.MapType{ebpf.Array, ebpf.PerCPUArray, ebpf.Hash, ebpf.PerCPUHash, ebpf.LRUHash,
		ebpf.LRUCPUHash, ebpf.LPMTrie, ebpf.RingBuf, ebpf.Queue, ebpf.Stack, ebpf.BloomFilter, ebpf.ProgramArray,
		ebpf.ArrayOfMaps, ebpf.HashOfMaps, ebpf.PerfEventArray, ebpf.DevMap, ebpf.DevMapHash, ebpf.CGroupArray, ebpf.StackTrace} {
		types[typ.String()] = typ
	}
	var cases []limitCase
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		f := strings.Split(text, "|")
		if len(f) != 10 {
			t.Fatalf("kernel_limits.txt:%d: %d fields, want 10", line, len(f))
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		num := func(i int) uint64 {
			v, err := strconv.ParseUint(f[i], 0, 64)
			if err != nil {
				t.Fatalf("kernel_limits.txt:%d: field %d: %v", line, i+1, err)
			}
			return v
		}
		verdict := func(i int) unix.Errno {
			if f[i] == "ok" {
				return 0
			}
			e := errnoByName[f[i]]
			if e == 0 {
				t.Fatalf("kernel_limits.txt:%d: verdict %q is neither ok nor an errno", line, f[i])
			}
			return e
		}
		typ, ok := types[f[1]]
		if !ok {
			t.Fatalf("kernel_limits.txt:%d: unknown map type %q", line, f[1])
		}
		c := limitCase{name: f[0], line: line, kernel: verdict(7), waggle: verdict(8), run: f[9],
			spec: Spec{Name: f[0], Type: typ, KeySize: uint32(num(2)), ValueSize: uint32(num(3)),
				MaxEntries: uint32(num(4)), Flags: uint32(num(5)), MapExtra: num(6)}}
		if IsPerCPU(typ) {
			c.spec.CPUs = 2
		}
		if typ == ebpf.ArrayOfMaps || typ == ebpf.HashOfMaps {
			c.spec.InnerMap = &Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// bpfMapAttr is the start of union bpf_attr for BPF_MAP_CREATE.
type bpfMapAttr struct {
	mapType, keySize, valueSize, maxEntries, flags, innerMapFD, numaNode uint32
	name                                                                 [16]byte
	ifindex, btfFD, btfKeyTypeID, btfValueTypeID, btfVMLinuxValueTypeID  uint32
	mapExtra                                                             uint64
}

// kernelCreate asks the kernel to create the map s describes and closes
// it; it returns the errno (0: created).
func kernelCreate(s *Spec) unix.Errno {
	a := bpfMapAttr{mapType: uint32(s.Type), keySize: s.KeySize, valueSize: s.ValueSize,
		maxEntries: s.MaxEntries, flags: s.Flags, mapExtra: s.MapExtra}
	if in := s.InnerMap; in != nil {
		fd, err := kernelCreateFD(bpfMapAttr{mapType: uint32(in.Type), keySize: in.KeySize, valueSize: in.ValueSize, maxEntries: in.MaxEntries})
		if err != 0 {
			return err
		}
		defer unix.Close(fd)
		a.innerMapFD = uint32(fd)
	}
	fd, err := kernelCreateFD(a)
	if err == 0 {
		unix.Close(fd)
	}
	return err
}

func kernelCreateFD(a bpfMapAttr) (int, unix.Errno) {
	fd, _, errno := unix.Syscall(unix.SYS_BPF, 0 /* BPF_MAP_CREATE */, uintptr(unsafe.Pointer(&a)), unsafe.Sizeof(a))
	return int(fd), errno
}

// kernelMapsAvailable says why the kernel cannot be asked, or "".
func kernelMapsAvailable() string {
	switch err := kernelCreate(&Spec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}); err {
	case 0:
		return ""
	case unix.EPERM, unix.EACCES:
		return "creating maps with bpf() needs root (CAP_BPF): " + err.Error()
	case unix.ENOSYS:
		return "the bpf() system call is not available (kernel without CONFIG_BPF_SYSCALL, or seccomp)"
	default:
		return "bpf(BPF_MAP_CREATE) of a small array fails: " + err.Error()
	}
}

func verdictName(e unix.Errno) string {
	if e == 0 {
		return "ok"
	}
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return "errno " + strconv.Itoa(int(e))
}

// TestKernelLimits creates the maps of testdata/kernel_limits.txt, the
// kernel's limits at their boundaries, in waggle (with a 256 MiB budget)
// and, as root, in the kernel, and compares the verdicts with the table:
// waggle's must be the kernel's except where only memory tells them apart.
func TestKernelLimits(t *testing.T) {
	cases := readLimitCases(t)
	kernelWhyNot := kernelMapsAvailable()
	if kernelWhyNot != "" {
		t.Logf("comparing with the table only: %s", kernelWhyNot)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.waggle != c.kernel && c.waggle != unix.ENOMEM {
				t.Fatalf("kernel_limits.txt:%d: waggle's verdict %s may differ from the kernel's %s only for memory (ENOMEM)",
					c.line, verdictName(c.waggle), verdictName(c.kernel))
			}
			s := c.spec
			s.Budget = NewBudget(nil, 256<<20, "the maps of TestKernelLimits", "this test's")
			m, err := New(&s)
			var got unix.Errno
			if err != nil {
				var me *Error
				if !errors.As(err, &me) {
					t.Fatalf("waggle: error without an errno: %v", err)
				}
				got = me.Errno
				if !strings.Contains(err.Error(), `map "`+c.name+`"`) {
					t.Errorf("waggle: the error does not name the map: %v", err)
				}
			} else {
				m.Close()
			}
			if got != c.waggle {
				t.Errorf("waggle: %s (%v), want %s", verdictName(got), err, verdictName(c.waggle))
			} else if err != nil {
				t.Logf("waggle: %v", err)
			}
			if s.Budget.Used() != 0 {
				t.Errorf("the budget holds %d bytes once the map is closed", s.Budget.Used())
			}

			switch {
			case c.run != "yes":
				t.Logf("kernel: %s (not asked: %s)", verdictName(c.kernel), c.run)
			case kernelWhyNot != "":
			default:
				if got := kernelCreate(&c.spec); got != c.kernel {
					t.Errorf("kernel: %s, the table says %s", verdictName(got), verdictName(c.kernel))
				}
			}
		})
	}
}
