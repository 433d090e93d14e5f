package kernel

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

func TestCopyFromUser(t *testing.T) {
	ctx := bytes.Repeat([]byte{0xaa}, 16)
	// dst = the context's second half (syscall programs may write it),
	// size 8: any source fails (waggle has no user memory, and the
	// program's own memory is kernel memory), dst is zeroed, -EFAULT.
	for _, src := range []string{"lddw %r3, 0", "lddw %r3, 0x1000", "lddw %r3, 0x7fff00001000", "mov %r3, %r6"} {
		prog := fmt.Sprintf("mov %%r6, %%r1\nadd %%r1, 8\nmov %%r2, 8\n%s\ncall 148\nexit", src)
		r := exec(t, ebpf.Syscall, Options{}, prog, Input{Context: ctx})
		if r.err != nil {
			t.Fatalf("src %s: %v", src, r.err)
		}
		want := append(bytes.Repeat([]byte{0xaa}, 8), make([]byte, 8)...)
		if r.ret != neg(errno.EFAULT) || !bytes.Equal(r.out.Context, want) {
			t.Errorf("copy_from_user from %s: %#x, context % x", src, r.ret, r.out.Context)
		}
	}
	// Size 0 copies nothing and succeeds.
	r := exec(t, ebpf.Syscall, Options{}, "mov %r2, 0\nmov %r3, 0x1000\ncall 148\nexit", Input{Context: ctx})
	if r.err != nil || r.ret != 0 || !bytes.Equal(r.out.Context, ctx) {
		t.Errorf("copy_from_user of 0 bytes: %#x % x %v", r.ret, r.out.Context, r.err)
	}
	// A destination the program may not write ends the run (the verifier
	// refuses such programs).
	r = exec(t, ebpf.Syscall, Options{}, "mov %r1, 0x1000\nmov %r2, 8\nmov %r3, 0\ncall 148\nexit", Input{Context: ctx})
	if r.err == nil {
		t.Errorf("copy_from_user to 0x1000: %#x, no error", r.ret)
	}
	// Only sleepable programs (syscall) may call it.
	for _, typ := range []ebpf.ProgramType{ebpf.XDP, ebpf.SchedCLS, ebpf.SocketFilter, ebpf.Kprobe, ebpf.TracePoint, ebpf.RawTracepoint, ebpf.PerfEvent, RawMemory} {
		if known, allowed := HelperAllowed(typ, 148); !known || allowed {
			t.Errorf("%v: known %v allowed %v", typ, known, allowed)
		}
	}
	if known, allowed := HelperAllowed(ebpf.Syscall, 148); !known || !allowed {
		t.Errorf("syscall: known %v allowed %v", known, allowed)
	}
}
