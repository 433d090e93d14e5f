package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/maps"
	"github.com/waggle-ebpf/waggle/internal/memory"
)

// adjustProg calls helper id with r2 = off and returns ret<<24 |
// (data - data_meta)<<16 | (data_end - data), as the kernel test did.
func adjustProg(id int, off int32) string {
	return fmt.Sprintf(`
	mov %%r6, %%r1
	mov %%r2, %d
	call %d
	mov %%r7, %%r0
	ldxw %%r2, [%%r6+0]
	ldxw %%r3, [%%r6+4]
	ldxw %%r4, [%%r6+8]
	mov %%r0, %%r3
	sub %%r0, %%r2
	sub %%r2, %%r4
	lsh %%r2, 16
	or %%r0, %%r2
	and %%r7, 0xff
	lsh %%r7, 24
	or %%r0, %%r7
	exit`, off, id)
}

func TestXDPAdjust(t *testing.T) {
	// Observed with BPF_PROG_TEST_RUN on Linux 6.18, a 64-byte packet:
	// ret (as a signed byte), len, meta, len(data_out).
	cases := []struct {
		id             int
		off            int32
		ret            int8
		n, meta, outLn int
	}{
		{44, -256, -22, 64, 0, 64}, {44, -217, -22, 64, 0, 64}, {44, -216, 0, 280, 0, 280},
		{44, -215, 0, 279, 0, 279}, {44, -1, 0, 65, 0, 65}, {44, 0, 0, 64, 0, 64},
		{44, 49, 0, 15, 0, 15}, {44, 50, 0, 14, 0, 14}, {44, 51, -22, 64, 0, 64}, {44, 64, -22, 64, 0, 64},
		{65, -51, -22, 64, 0, 64}, {65, -50, 0, 14, 0, 14}, {65, -49, 0, 15, 0, 15}, {65, 1, 0, 65, 0, 65},
		{65, 3456, 0, 3520, 0, 3520}, {65, 3457, -22, 64, 0, 64}, {65, 4096, -22, 64, 0, 64},
		{54, -256, -22, 64, 0, 64}, {54, -220, -22, 64, 0, 64}, {54, -216, 0, 64, 216, 280},
		{54, -212, 0, 64, 212, 276}, {54, -8, 0, 64, 8, 72}, {54, -4, 0, 64, 4, 68},
		{54, -3, -13, 64, 0, 64}, {54, -2, -13, 64, 0, 64}, {54, 4, -22, 64, 0, 64}, {54, 0, 0, 64, 0, 64},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d/%d", c.id, c.off), func(t *testing.T) {
			r := mustRun(t, ebpf.XDP, adjustProg(c.id, c.off), Input{Data: packet(64)})
			ret, n, meta := int8(r.ret>>24), int(r.ret&0xffff), int(r.ret>>16&0xff)
			if ret != c.ret || n != c.n || meta != c.meta || len(r.out.Data) != c.outLn {
				t.Errorf("ret %d len %d meta %d out %d, kernel: %d %d %d %d", ret, n, meta, len(r.out.Data), c.ret, c.n, c.meta, c.outLn)
			}
		})
	}
	// Growing the head or the metadata exposes zeroed headroom; the
	// packet follows.
	r := mustRun(t, ebpf.XDP, adjustProg(44, -1), Input{Data: packet(64)})
	if !bytes.Equal(r.out.Data[:8], []byte{0, 0, 1, 2, 3, 4, 5, 6}) {
		t.Errorf("head -1: % x", r.out.Data[:8])
	}
	r = mustRun(t, ebpf.XDP, adjustProg(44, 49), Input{Data: packet(64)})
	if r.out.Data[0] != 49 {
		t.Errorf("head 49: % x", r.out.Data[:4])
	}
	r = mustRun(t, ebpf.XDP, adjustProg(54, -4), Input{Data: packet(64)})
	if !bytes.Equal(r.out.Data[:8], []byte{0, 0, 0, 0, 0, 1, 2, 3}) {
		t.Errorf("meta -4: % x", r.out.Data[:8])
	}
}

func xdpMD(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.NativeEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func TestXDPContextIn(t *testing.T) {
	// Kernel: errors and results of ctx_in, with the program of adjust
	// offset 0 on a 64-byte packet (or data_end bytes when larger).
	cases := []struct {
		ctx       []byte
		err       error
		n, meta   int
		outLn     int
		ingress   uint32
		ctxOutEnd uint32
	}{
		{ctx: xdpMD(0, 64, 0, 0, 0, 0), n: 64, outLn: 64, ingress: 1, ctxOutEnd: 64},
		{ctx: xdpMD(8, 64, 0, 0, 0, 0), n: 56, meta: 8, outLn: 64, ingress: 1, ctxOutEnd: 64},
		{ctx: xdpMD(8, 40, 0, 0, 0, 0), n: 32, meta: 8, outLn: 64, ingress: 1, ctxOutEnd: 40},
		{ctx: xdpMD(0, 0, 0, 0, 0, 0), n: 0, outLn: 64, ingress: 1, ctxOutEnd: 0},
		{ctx: xdpMD(3, 64, 0, 0, 0, 0), err: errno.EINVAL},
		{ctx: xdpMD(0, 65, 0, 0, 0, 0), err: errno.EINVAL},
		{ctx: xdpMD(0, 64, 4, 0, 0, 0), err: errno.EINVAL},
		{ctx: xdpMD(0, 64, 0, 1, 0, 0), n: 64, outLn: 64, ingress: 1, ctxOutEnd: 64},
		{ctx: xdpMD(0, 64, 0, 4, 0, 0), n: 64, outLn: 64, ingress: 4, ctxOutEnd: 64},
		{ctx: xdpMD(0, 64, 0, 1, 1, 0), err: errno.EINVAL},
		{ctx: xdpMD(0, 64, 0, 0, 1, 0), err: errno.EINVAL},
		{ctx: xdpMD(0, 64, 0, 0, 0, 1), err: errno.EINVAL},
		{ctx: xdpMD(20, 33, 0, 0, 0, 0), n: 13, meta: 20, outLn: 64, ingress: 1, ctxOutEnd: 33},
		{ctx: xdpMD(220, 64, 0, 0, 0, 0), err: errno.EINVAL},
		{ctx: append(xdpMD(0, 64, 0, 0, 0, 0), 0, 0, 0, 0), n: 64, outLn: 64, ingress: 1, ctxOutEnd: 64},
		{ctx: append(xdpMD(0, 64, 0, 0, 0, 0), 1, 0, 0, 0), err: errno.E2BIG},
		{ctx: xdpMD(0, 64), n: 64, outLn: 64, ingress: 1, ctxOutEnd: 64},
	}
	src := adjustProg(54, 0)
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			r := exec(t, ebpf.XDP, Options{}, src+"\n", Input{Data: packet(64), Context: c.ctx})
			if c.err != nil {
				if !errors.Is(r.err, c.err) {
					t.Fatalf("err %v, kernel %v", r.err, c.err)
				}
				return
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			n, meta := int(r.ret&0xffff), int(r.ret>>16&0xff)
			if n != c.n || meta != c.meta || len(r.out.Data) != c.outLn {
				t.Errorf("len %d meta %d out %d, kernel %d %d %d", n, meta, len(r.out.Data), c.n, c.meta, c.outLn)
			}
			if got := binary.NativeEndian.Uint32(r.out.Context[4:]); got != c.ctxOutEnd {
				t.Errorf("ctx_out data_end %d, kernel %d", got, c.ctxOutEnd)
			}
		})
	}
	// adjust_head(-8) with 8 bytes of metadata: the metadata moves, the
	// bytes between keep their old contents (kernel: not zeroed).
	r := mustRun(t, ebpf.XDP, adjustProg(44, -8), Input{Data: packet(64), Context: xdpMD(8, 64, 0, 0, 0, 0)})
	want := []byte{0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if len(r.out.Data) != 72 || !bytes.Equal(r.out.Data[:20], want) {
		t.Errorf("out %d % x", len(r.out.Data), r.out.Data[:20])
	}
	if d, e := binary.NativeEndian.Uint32(r.out.Context), binary.NativeEndian.Uint32(r.out.Context[4:]); d != 8 || e != 72 {
		t.Errorf("ctx_out data %d data_end %d", d, e)
	}
}

func TestXDPSizes(t *testing.T) {
	// Kernel: data_end - data and len(data_out) for packet sizes; past
	// 3520 bytes the rest goes to frags.
	for _, c := range []struct{ n, lin int }{{14, 14}, {3520, 3520}, {3521, 3520}, {4000, 3520}, {70000, 3520}} {
		r := mustRun(t, ebpf.XDP, adjustProg(54, 0), Input{Data: packet(c.n)})
		if int(r.ret&0xffff) != c.lin || !bytes.Equal(r.out.Data, packet(c.n)) {
			t.Errorf("n=%d: linear %d out %d, kernel %d", c.n, r.ret&0xffff, len(r.out.Data), c.lin)
		}
	}
	for _, n := range []int{13, 0} {
		if r := exec(t, ebpf.XDP, Options{}, "mov %r0, 0\nexit", Input{Data: packet(n)}); !errors.Is(r.err, errno.EINVAL) {
			t.Errorf("n=%d: %v", n, r.err)
		}
	}
	if r := exec(t, ebpf.XDP, Options{}, "mov %r0, 0\nexit", Input{Data: packet(3520 + 18*4096)}); !errors.Is(r.err, errno.ENOMEM) {
		t.Errorf("too many frags: %v", r.err)
	}
	// adjust_tail on a 4000-byte packet (3520 linear + a 480-byte frag).
	for _, c := range []struct {
		off         int32
		ret         int8
		lin, outLen int
	}{
		{1, 0, 3520, 4001}, {100, 0, 3520, 4100}, {-100, 0, 3520, 3900}, {-480, 0, 3520, 3520},
		{-481, 0, 3519, 3519}, {-500, 0, 3500, 3500}, {-3986, 0, 14, 14}, {-3987, -22, 3520, 4000},
		{600, 0, 3520, 4600}, {3616, 0, 3520, 7616}, {3617, -22, 3520, 4000},
	} {
		r := mustRun(t, ebpf.XDP, adjustProg(65, c.off), Input{Data: packet(4000)})
		if ret, lin := int8(r.ret>>24), int(r.ret&0xffff); ret != c.ret || lin != c.lin || len(r.out.Data) != c.outLen {
			t.Errorf("tail %d: ret %d linear %d out %d, kernel %d %d %d", c.off, ret, lin, len(r.out.Data), c.ret, c.lin, c.outLen)
		}
	}
}

func TestXDPContextFields(t *testing.T) {
	for _, c := range []struct {
		src  string
		want uint64
		ok   bool
	}{
		{"ldxw %r0, [%r1+12]\nexit", 1, true},
		{"ldxw %r0, [%r1+16]\nexit", 0, true},
		{"ldxw %r0, [%r1+20]\nexit", 0, false}, // egress_ifindex: devmap programs only
		{"ldxh %r0, [%r1+12]\nexit", 0, false},
		{"ldxdw %r0, [%r1+0]\nexit", 0, false},
		{"ldxw %r0, [%r1+2]\nexit", 0, false},
		{"ldxw %r0, [%r1+24]\nexit", 0, false},
		{"stw [%r1+12], 0\nmov %r0, 0\nexit", 0, false},
		{"mov %r2, 1\nstxw [%r1+0], %r2\nmov %r0, 0\nexit", 0, false},
	} {
		r := exec(t, ebpf.XDP, Options{}, c.src, Input{Data: packet(64)})
		if c.ok != (r.err == nil) || (c.ok && r.ret != c.want) {
			t.Errorf("%q: %d %v", c.src, r.ret, r.err)
		}
		var f *memory.Fault
		if !c.ok && !errors.As(r.err, &f) {
			t.Errorf("%q: %v is not a fault", c.src, r.err)
		}
	}
	// data and data_end are full pointers: the program reads and writes
	// the packet through them, and one byte past data_end faults.
	r := mustRun(t, ebpf.XDP, `
	ldxw %r2, [%r1+0]
	ldxw %r3, [%r1+4]
	ldxb %r0, [%r2+5]
	stb [%r2+0], 0xaa
	stb [%r3-1], 0xbb
	exit`, Input{Data: packet(64)})
	if r.ret != 5 || r.out.Data[0] != 0xaa || r.out.Data[63] != 0xbb {
		t.Errorf("ret %d out % x", r.ret, r.out.Data)
	}
	if r := exec(t, ebpf.XDP, Options{}, "ldxw %r3, [%r1+4]\nldxb %r0, [%r3+0]\nexit", Input{Data: packet(64)}); r.err == nil {
		t.Error("read at data_end succeeded")
	}
	if r := exec(t, ebpf.XDP, Options{}, "ldxw %r3, [%r1+0]\nldxb %r0, [%r3-1]\nexit", Input{Data: packet(64)}); r.err == nil {
		t.Error("read before data succeeded")
	}
	// After adjust_head(-4) the new bytes are readable, and after
	// adjust_head(+4) the old first bytes are not.
	r = mustRun(t, ebpf.XDP, `
	mov %r6, %r1
	mov %r2, -4
	call 44
	ldxw %r2, [%r6+0]
	ldxb %r0, [%r2+4]
	exit`, Input{Data: packet(64)})
	if r.ret != 0 {
		t.Errorf("after head -4: %d", r.ret)
	}
	r = exec(t, ebpf.XDP, Options{}, `
	mov %r6, %r1
	ldxw %r7, [%r6+0]
	mov %r2, 4
	call 44
	ldxb %r0, [%r7+0]
	exit`, Input{Data: packet(64)})
	if r.err == nil {
		t.Error("old data pointer still readable after adjust_head(4)")
	}
}

func TestRedirect(t *testing.T) {
	for _, c := range []struct {
		typ   ebpf.ProgramType
		flags int
		ret   uint64
	}{
		{ebpf.XDP, 0, 4}, {ebpf.XDP, 1, 0}, {ebpf.XDP, 2, 0},
		{ebpf.SchedCLS, 0, 7}, {ebpf.SchedCLS, 1, 7}, {ebpf.SchedCLS, 2, 2},
	} {
		r := mustRun(t, c.typ, fmt.Sprintf("mov %%r1, 7\nmov %%r2, %d\ncall 23\nexit", c.flags), Input{Data: packet(64)})
		rd, ok := r.run.Redirect()
		if r.ret != c.ret || ok != (c.ret == 4 || c.ret == 7) || (ok && rd.Ifindex != 7) {
			t.Errorf("%v flags %d: %d %v %+v", c.typ, c.flags, r.ret, ok, rd)
		}
	}
}

func TestRedirectMap(t *testing.T) {
	// Kernel, empty slot: devmap (flag mask BROADCAST|EXCLUDE_INGRESS) and
	// cpumap/xskmap (no flags).
	dev := map[int]uint64{0: 0, 1: 1, 2: 2, 3: 3, 4: 0, 5: 0, 8: 4, 10: 4, 16: 0, 24: 4, 26: 4}
	cpu := map[int]uint64{0: 0, 1: 1, 2: 2, 3: 3, 4: 0, 5: 0, 8: 0, 10: 0, 16: 0, 24: 0, 26: 0}
	for _, c := range []struct {
		typ  ebpf.MapType
		want map[int]uint64
	}{{ebpf.DevMap, dev}, {ebpf.DevMapHash, dev}, {ebpf.CPUMap, cpu}, {ebpf.XSKMap, cpu}} {
		m := newFake(t, maps.Spec{Type: c.typ, KeySize: 4, ValueSize: 4, MaxEntries: 4})
		for flags, want := range c.want {
			r := mustRun(t, ebpf.XDP, fmt.Sprintf("lddw %%r1, %#x\nmov %%r2, 1\nmov %%r3, %d\ncall 51\nexit", m.handle, flags), Input{Data: packet(64)})
			if r.ret != want {
				t.Errorf("%v flags %d: %d, kernel %d", c.typ, flags, r.ret, want)
			}
		}
		// A filled slot redirects.
		m.objs[2] = "dev"
		r := mustRun(t, ebpf.XDP, fmt.Sprintf("lddw %%r1, %#x\nmov %%r2, 2\nmov %%r3, 1\ncall 51\nexit", m.handle), Input{Data: packet(64)})
		if rd, ok := r.run.Redirect(); r.ret != 4 || !ok || rd.Ifindex != 2 {
			t.Errorf("%v filled slot: %d %+v", c.typ, r.ret, rd)
		}
	}
}

// TestXDPFrameZeroed checks that a run's frame is zero outside its packet
// whatever the run before left: its packet, the headroom it exposed, the
// tail it grew.
func TestXDPFrameZeroed(t *testing.T) {
	r, err := NewRun(ebpf.XDP, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mem memory.Memory
	big := bytes.Repeat([]byte{0xaa}, 1000)
	if _, err := r.Setup(&mem, Input{Data: big}); err != nil {
		t.Fatal(err)
	}
	// What a program and its helpers can leave: bytes written in the
	// packet, in headroom a bpf_xdp_adjust_head exposed, in a grown tail.
	x := &r.xdp
	x.meta, x.data, x.end = x.meta-100, x.data-100, x.end+200
	r.xdpMoved()
	for i := x.meta; i < x.end; i++ {
		x.frame[i] = 0xbb
	}
	mem.Reset()
	small := bytes.Repeat([]byte{0xcc}, 60)
	if _, err := r.Setup(&mem, Input{Data: small}); err != nil {
		t.Fatal(err)
	}
	for i, b := range x.frame {
		in := i >= x.data && i < x.end
		if in && b != 0xcc || !in && b != 0 {
			t.Fatalf("frame[%d] = %#x after the second setup (packet [%d, %d))", i, b, x.data, x.end)
		}
	}
}
