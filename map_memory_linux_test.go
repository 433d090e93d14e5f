//go:build linux

package waggle_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// limitedChildEnv names the object that the child process of
// TestHugeObjectsInSmallAddressSpace loads.
const limitedChildEnv = "WAGGLE_TEST_SMALL_ADDRESS_SPACE"

// TestHugeObjectsInSmallAddressSpace loads tiny objects that ask for
// gigabytes (a 1 GiB .bss, a per-CPU array of 2^28 entries, a 2 GiB value)
// in a child process whose address space is limited to 3 GiB more than it
// uses (RLIMIT_AS), as on a small machine: each must be refused with an
// error, where the Go runtime used to end the process with "fatal error:
// out of memory".
func TestHugeObjectsInSmallAddressSpace(t *testing.T) {
	if obj := os.Getenv(limitedChildEnv); obj != "" {
		smallAddressSpaceChild(t, obj)
		return
	}
	kerneltest.SkipIfEmulated(t, "the child's limited address space cannot hold the emulator's reservation for its guest")
	for _, obj := range []string{"huge_bss.o", "huge_percpu.o", "big_value.o"} {
		t.Run(obj, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHugeObjectsInSmallAddressSpace$", "-test.v")
			cmd.Env = append(os.Environ(), limitedChildEnv+"="+obj)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the process with a limited address space failed (%v):\n%s", err, out)
			}
			if !strings.Contains(string(out), "refused: ") {
				t.Fatalf("no refusal in the child's output:\n%s", out)
			}
			for line := range strings.Lines(string(out)) {
				if strings.Contains(line, "refused: ") || strings.Contains(line, "limit for maps: ") {
					t.Log(strings.TrimSpace(line))
				}
			}
		})
	}
}

// smallAddressSpaceChild limits the address space, makes the map memory
// limit the default for it and loads obj, which must be refused.
func smallAddressSpaceChild(t *testing.T, obj string) {
	vm := statusBytes(t, "VmSize")
	if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: vm + 3<<30, Max: unix.RLIM_INFINITY}); err != nil {
		t.Skipf("cannot limit the address space: %v", err)
	}
	waggle.SetMapMemoryLimit(0) // the default, for the limited address space
	limit, how := waggle.DefaultMapMemoryLimit()
	fmt.Printf("limit for maps: %d bytes (%s)\n", limit, how)
	spec, err := waggle.LoadCollectionSpec(objectPath(obj))
	if err == nil {
		var coll *waggle.Collection
		coll, err = waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: 2})
		if err == nil {
			coll.Close()
			t.Fatalf("%s loaded in a 3 GiB address space", obj)
		}
	}
	if !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("%s: %v, want ENOMEM", obj, err)
	}
	fmt.Printf("refused: %v\n", err)
}

// statusBytes is a size from /proc/self/status.
func statusBytes(t *testing.T, name string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			f := strings.Fields(rest)
			if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil && len(f) == 2 && f[1] == "kB" {
				return kb << 10
			}
		}
	}
	t.Skipf("no %s in /proc/self/status", name)
	return 0
}
