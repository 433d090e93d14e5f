package waggle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kernel"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/isa"
)

const sockProgs = "testdata/sock/sock_progs.o"

// Linux's numbers, which the contexts carry and the programs compare
// with on every host (AF_INET6 is 30 on macOS); TestSockConstants checks
// them against Linux's headers.
const (
	afInet                     = 2
	afInet6                    = 10
	sockStream                 = 1
	sockDgram                  = 2
	sockRaw                    = 3
	ipprotoICMP                = 1
	ipprotoTCP                 = 6
	ipprotoUDP                 = 17
	sockOpsTimeoutInit         = 1  // BPF_SOCK_OPS_TIMEOUT_INIT
	sockOpsActiveEstablishedCB = 4  // BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB
	sockOpsRTTCB               = 12 // BPF_SOCK_OPS_RTT_CB
)

// ip4 is an IPv4 address as the kernel's structures hold it: network
// byte order in memory.
func ip4(s string) uint32 {
	a := netip.MustParseAddr(s).As4()
	return binary.NativeEndian.Uint32(a[:])
}

// port is a port in network byte order in a u32, as user_port holds it.
func port(p uint16) uint32 {
	var b [4]byte
	binary.BigEndian.PutUint16(b[:], p)
	return binary.NativeEndian.Uint32(b[:])
}

// port32 is a port as bpf_sock_ops.remote_port holds it: htonl(port).
func port32(p uint16) uint32 {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(p))
	return binary.NativeEndian.Uint32(b[:])
}

// sockRun is one run of a program of testdata/sock/sock_progs.c: the
// context in (a SockAddr, Sock or SockOps), the return value and context
// out it must give, and values of sock_res it must leave.
type sockRun struct {
	name    string
	prog    string
	in      any
	ret     uint64
	out     any
	results map[uint32]uint64
}

func sockRuns() []sockRun {
	tcp4 := SockAddr{UserFamily: afInet, Family: afInet, Type: sockStream, Protocol: ipprotoTCP}
	to := func(a SockAddr, ip string, p uint16) SockAddr { a.UserIP4, a.UserPort = ip4(ip), port(p); return a }
	udp4 := SockAddr{UserFamily: afInet, Family: afInet, Type: sockDgram, Protocol: ipprotoUDP}
	tcp6 := SockAddr{UserFamily: afInet6, Family: afInet6, Type: sockStream, Protocol: ipprotoTCP,
		UserIP6: [4]uint32{ip4("32.1.13.184"), 0, 0, ip4("0.0.0.5")}, UserPort: port(80)}
	tcp6Out := tcp6
	tcp6Out.UserIP6, tcp6Out.UserPort = [4]uint32{0, 0, 0, ip4("0.0.0.1")}, port(8080)
	dns := to(udp4, "10.0.0.53", 53)
	dnsOut := to(udp4, "10.53.0.1", 53)
	dnsOut.MsgSrcIP4 = ip4("10.9.9.9")
	stream := Sock{Family: afInet, Type: sockStream, Protocol: ipprotoTCP}
	marked := stream
	marked.Mark, marked.Priority = 0x42, 3
	raw := Sock{Family: afInet, Type: sockRaw, Protocol: ipprotoICMP}
	bound := func(p uint32) Sock { s := stream; s.SrcIP4, s.SrcPort = ip4("10.1.2.3"), p; return s }
	ops := func(op uint32) SockOps {
		return SockOps{Op: op, Family: afInet, IsFullsock: 1, LocalIP4: ip4("10.1.2.3"), RemoteIP4: ip4("10.0.0.1"),
			RemotePort: port32(80), LocalPort: 40000, SrttUs: 8 * 1500, State: 1 /* TCP_ESTABLISHED */}
	}
	withReply := func(o SockOps, r uint32) SockOps { o.Reply = r; return o }
	withFlags := func(o SockOps, f uint32) SockOps { o.BPFSockOpsCBFlags = f; return o }
	notFull := ops(sockOpsActiveEstablishedCB)
	notFull.IsFullsock = 0
	rttNotFull := ops(sockOpsRTTCB)
	rttNotFull.IsFullsock = 0
	// Without a full socket the TCP fields are 0, in the program and out.
	tcpZero := func(o SockOps) SockOps { o.SrttUs = 0; return o }
	e := errno.EINVAL
	einval := -uint64(e)
	return []sockRun{
		{"redirect", "connect4_redirect", to(tcp4, "10.0.0.1", 80), 1, to(tcp4, "127.0.0.1", 8080), map[uint32]uint64{0: 1, 1: ipprotoTCP}},
		{"other_address", "connect4_redirect", to(tcp4, "10.0.0.2", 80), 1, to(tcp4, "10.0.0.2", 80), map[uint32]uint64{0: 0, 1: ipprotoTCP}},
		{"telnet_refused", "connect4_redirect", to(tcp4, "10.0.0.1", 23), 0, to(tcp4, "10.0.0.1", 23), map[uint32]uint64{0: 0}},
		{"udp", "connect4_redirect", to(udp4, "10.0.0.1", 80), 1, to(udp4, "127.0.0.1", 8080), map[uint32]uint64{0: 1, 1: ipprotoUDP}},
		{"redirect6", "connect6_redirect", tcp6, 1, tcp6Out, nil},
		{"dns", "sendmsg4_dns", dns, 1, dnsOut, map[uint32]uint64{2: uint64(ip4("10.0.0.53"))}},
		{"not_dns", "sendmsg4_dns", to(udp4, "10.0.0.53", 123), 1, to(udp4, "10.0.0.53", 123), map[uint32]uint64{2: 0}},
		{"restore", "recvmsg4_restore", to(udp4, "10.53.0.1", 53), 1, to(udp4, "10.0.0.53", 53), nil},
		{"low_port", "bind4_low_ports", to(tcp4, "0.0.0.0", 80), 3, to(tcp4, "0.0.0.0", 80), nil},
		{"high_port", "bind4_low_ports", to(tcp4, "0.0.0.0", 8080), 1, to(tcp4, "0.0.0.0", 8080), nil},
		{"stream", "sock_create_mark", stream, 1, marked, nil},
		{"raw_refused", "sock_create_mark", raw, 0, raw, nil},
		{"port_8000", "post_bind4_deny", bound(8000), 0, bound(8000), nil},
		{"port_8001", "post_bind4_deny", bound(8001), 1, bound(8001), nil},
		{"timeout_init", "sockops_tcp", ops(sockOpsTimeoutInit), 1, withReply(ops(sockOpsTimeoutInit), 200), nil},
		// cb_flags_set keeps RTT|STATE (12) and returns the bit it does not know (0x100).
		{"established", "sockops_tcp", ops(sockOpsActiveEstablishedCB), 1, withFlags(ops(sockOpsActiveEstablishedCB), 12), map[uint32]uint64{3: 0x100}},
		{"established_not_fullsock", "sockops_tcp", notFull, 1, tcpZero(notFull), map[uint32]uint64{3: einval}},
		{"rtt", "sockops_tcp", ops(sockOpsRTTCB), 1, ops(sockOpsRTTCB), map[uint32]uint64{4: 8 * 1500, 5: 1, 6: uint64(port(80))}},
		// Without a full socket, srtt_us reads 0 and sk is NULL.
		{"rtt_no_socket", "sockops_tcp", rttNotFull, 1, tcpZero(rttNotFull), map[uint32]uint64{4: 0, 5: 99, 6: 99}},
	}
}

// TestSockPrograms runs the cgroup socket programs on their contexts, on
// both engines: rewritten addresses and ports, marks, replies and
// callback flags, return values, the socket behind sk.
func TestSockPrograms(t *testing.T) {
	engines := []Engine{EngineInterpreter}
	if jit.Supported {
		engines = append(engines, EngineJIT)
	}
	for _, eng := range engines {
		for _, c := range sockRuns() {
			t.Run(fmt.Sprintf("%s/%s/%s", eng, c.prog, c.name), func(t *testing.T) {
				spec, err := LoadCollectionSpec(sockProgs)
				if err != nil {
					t.Fatal(err)
				}
				coll, err := NewCollectionWithOptions(spec, CollectionOptions{Engine: eng})
				if err != nil {
					t.Fatal(err)
				}
				defer coll.Close()
				prog := coll.Programs[c.prog]
				if prog == nil {
					t.Fatalf("no program %s", c.prog)
				}
				out := make([]byte, binary.Size(c.out))
				res, err := prog.Run(&RunOptions{Context: c.in, ContextOut: out})
				if err != nil {
					t.Fatal(err)
				}
				if uint64(res) != c.ret {
					t.Errorf("return value %d, want %d", uint64(res), c.ret)
				}
				want, err := binary.Append(nil, binary.NativeEndian, c.out)
				if err != nil {
					t.Fatal(err)
				}
				if string(out) != string(want) {
					t.Errorf("context out\n%x, want\n%x", out, want)
				}
				for k, v := range c.results {
					var got uint64
					if err := coll.Maps["sock_res"].Lookup(k, &got); err != nil {
						t.Fatal(err)
					}
					if got != v {
						t.Errorf("sock_res[%d] = %#x, want %#x", k, got, v)
					}
				}
			})
		}
	}
}

// TestSockProgramsKernelVerdicts: the kernel's verifier accepts every
// program of the socket objects, as waggle's does (as root).
func TestSockProgramsKernelVerdicts(t *testing.T) {
	for _, obj := range []string{sockProgs, "testdata/sock/core_sockops.o", "testdata/progs/cgroup_skb.o"} {
		spec, err := LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		coll, err := NewCollection(spec)
		if err != nil {
			t.Fatalf("waggle refuses %s: %v", obj, err)
		}
		coll.Close()
		verdicts, err := kerneltest.Verify(obj)
		if err != nil {
			kerneltest.SkipIfUnsupported(t, err)
			t.Skipf("the kernel's verdicts need bpf() as root: %v", err)
		}
		for name, verr := range verdicts {
			if verr != nil {
				t.Errorf("%s: the kernel rejects %s, waggle accepts it: %v", obj, name, verr)
			}
		}
		t.Logf("%s: the kernel and waggle accept its %d programs", obj, len(verdicts))
	}
}

// TestSockContextLayouts: the Go structures have the kernel's sizes, as
// RunOptions encodes them.
func TestSockContextLayouts(t *testing.T) {
	for _, c := range []struct {
		v    any
		size int
	}{{SockAddr{}, 72}, {Sock{}, 80}, {SockOps{}, 224}} {
		if n := binary.Size(c.v); n != c.size {
			t.Errorf("%T encodes to %d bytes, the kernel's structure has %d", c.v, n, c.size)
		}
	}
}

// TestSockContextErrors: a run refuses a context with its pointer fields
// set, longer than the structure with bytes set past it, or data where
// the type takes none; a program of the wrong attach type does not load.
func TestSockContextErrors(t *testing.T) {
	spec, err := LoadCollectionSpec(sockProgs)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	connect := coll.Programs["connect4_redirect"]
	for _, c := range []struct {
		name  string
		opts  RunOptions
		want  string
		errno errno.Errno
	}{
		{"sk_set", RunOptions{Context: SockAddr{Sk: 1}}, "sk (bytes 64 to 71) is a pointer", errno.EINVAL},
		{"long", RunOptions{Context: append(make([]byte, unsafe.Sizeof(SockAddr{})), 1)}, "past the 72", errno.E2BIG},
		{"data", RunOptions{Data: []byte{1}, Context: SockAddr{}}, "take no data", errno.EINVAL},
	} {
		_, err := connect.Run(&c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, c.errno) {
			t.Errorf("%s: %v; want %q (%v)", c.name, err, c.want, c.errno)
		}
	}
	// The program reads user_ip4, which recvmsg6 programs may not.
	ps := spec.Programs["connect4_redirect"].Copy()
	ps.AttachType = ebpf.AttachCGroupUDP6Recvmsg
	bad := &ebpf.CollectionSpec{Maps: spec.Maps, Programs: map[string]*ebpf.ProgramSpec{"connect4_redirect": ps}}
	if _, err := NewCollection(bad); err == nil || !strings.Contains(err.Error(), "user_ip4") {
		t.Errorf("connect4 program as recvmsg6: %v; want a refusal naming user_ip4", err)
	}
	ps.AttachType = ebpf.AttachCGroupInetEgress
	if _, err := NewCollection(bad); !errors.Is(err, errno.EINVAL) || !strings.Contains(err.Error(), "connect4") {
		t.Errorf("cgroup_sock_addr program with attach type egress: %v; want EINVAL naming the attach types", err)
	}
}

// TestSockNewProgram: NewProgram takes the attach type from the
// ProgramSpec: a cgroup_sock_addr program needs one, and it decides which
// fields the program may write.
func TestSockNewProgram(t *testing.T) {
	// user_port = htons(8080); r0 = 1; exit
	insns := isa.Instructions{
		{Opcode: isa.OpMov64, Dst: isa.R2, Imm: int64(port(8080))},
		{Opcode: uint8(isa.ClassSTX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R1, Src: isa.R2, Offset: 24},
		{Opcode: isa.OpMov64, Dst: isa.R0, Imm: 1},
		{Opcode: isa.OpExit},
	}
	if _, err := NewProgram(&ProgramSpec{Name: "noattach", Type: ebpf.CGroupSockAddr, Instructions: insns}); !errors.Is(err, errno.EINVAL) || !strings.Contains(err.Error(), "connect4") {
		t.Errorf("cgroup_sock_addr without an attach type: %v; want EINVAL naming the attach types", err)
	}
	prog, err := NewProgram(&ProgramSpec{Name: "port", Type: ebpf.CGroupSockAddr, AttachType: ebpf.AttachCGroupInet6Connect, Instructions: insns})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	var out SockAddr
	res, err := prog.Run(&RunOptions{Context: &SockAddr{UserFamily: afInet6, UserPort: port(80)}, ContextOut: &out})
	if err != nil || uint64(res) != 1 || out.UserPort != port(8080) || out.UserFamily != afInet6 {
		t.Errorf("run: %v, return %d, context out %+v; want 1 and user_port 8080", err, uint64(res), out)
	}
	// A getsockname4 program must return 1.
	if _, err := NewProgram(&ProgramSpec{Name: "ret", Type: ebpf.CGroupSockAddr, AttachType: ebpf.AttachCgroupInet4GetSockname,
		Instructions: isa.Instructions{{Opcode: isa.OpMov64, Dst: isa.R0}, {Opcode: isa.OpExit}}}); err == nil || !strings.Contains(err.Error(), "[1, 1]") {
		t.Errorf("getsockname4 returning 0: %v; want a refusal naming [1, 1]", err)
	}
}

// TestSockContextEngines reads every field of the cgroup socket contexts
// at every size each attach type allows, in the interpreter (Go serves
// the context) and in compiled code (which reads the fields directly):
// both must read the context given in.
func TestSockContextEngines(t *testing.T) {
	engines := []Engine{EngineInterpreter}
	if jit.Supported {
		engines = append(engines, EngineJIT)
	}
	sizes := map[int]isa.Size{1: isa.SizeB, 2: isa.SizeH, 4: isa.SizeW, 8: isa.SizeDW}
	checked := 0
	for _, name := range []string{"cgroup_sock", "cgroup_sock_addr", "sock_ops"} {
		pt, typ, _ := kernel.ProgramTypeNamed(name)
		attaches := []ebpf.AttachType{0}
		descs := []*kernel.CtxDesc{&pt.Context}
		if len(pt.Attach) > 0 {
			attaches, descs = nil, nil
			for i := range pt.Attach {
				attaches = append(attaches, pt.Attach[i].Type)
				descs = append(descs, &pt.Attach[i].Context)
			}
		}
		for i, attach := range attaches {
			d := descs[i]
			ctx := make([]byte, d.Size)
			for j := range ctx {
				ctx[j] = byte(j*7 + 3)
			}
			for _, f := range d.Fields {
				if f.Kind != kernel.CtxScalar {
					clear(ctx[f.Off : f.Off+f.Size])
				}
			}
			for off := 0; off < d.Size; off++ {
				for n, sz := range sizes {
					f, ok := d.Field(off)
					if !ok || off%n != 0 || f.Kind != kernel.CtxScalar || off+n > f.Off+f.Size || f.Read&(1<<n) == 0 || !f.NarrowOK(off, n) {
						continue // a read the attach type does not allow (TestSockContextParity)
					}
					want := uint64(0)
					for k := n - 1; k >= 0 && off+k < len(ctx); k-- {
						want = want<<8 | uint64(ctx[off+k])
					}
					// r2 = *(ctx + off); if r2 != want: bpf_trace_printk("X");
					// return 1 (which every attach type may return).
					insns := isa.Instructions{
						{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(sz), Dst: isa.R2, Src: isa.R1, Offset: int16(off)},
						{Opcode: isa.OpLdDW, Dst: isa.R3, Imm: int64(want)},
						{Opcode: uint8(isa.ClassJMP) | isa.JumpEq | isa.SourceX, Dst: isa.R2, Src: isa.R3, Offset: 5},
						{Opcode: uint8(isa.ClassST) | uint8(isa.ModeMEM) | uint8(isa.SizeDW), Dst: isa.R10, Offset: -8, Imm: 'X'},
						{Opcode: uint8(isa.ClassALU64) | isa.ALUMov | isa.SourceX, Dst: isa.R1, Src: isa.R10},
						{Opcode: uint8(isa.ClassALU64) | isa.ALUAdd | isa.SourceK, Dst: isa.R1, Imm: -8},
						{Opcode: isa.OpMov64, Dst: isa.R2, Imm: 2},
						{Opcode: uint8(isa.ClassJMP) | isa.JumpCall, Imm: 6},
						{Opcode: isa.OpMov64, Dst: isa.R0, Imm: 1},
						{Opcode: isa.OpExit},
					}
					for _, eng := range engines {
						var trace strings.Builder
						prog, err := NewProgramWithOptions(&ProgramSpec{Name: "read", Type: typ, AttachType: attach, Instructions: insns}, ProgramOptions{Engine: eng, CPUs: 1, Trace: &trace})
						if err != nil {
							t.Errorf("%s %v: %d-byte read of %s at %d: %v", name, attach, n, f.Name, off, err)
							continue
						}
						res, err := prog.Run(&RunOptions{Context: ctx})
						prog.Close()
						if err != nil || uint64(res) != 1 || trace.Len() != 0 {
							t.Errorf("%s %v, %s: %d-byte read of %s at %d: %v, return %d, a value other than %#x read (%q)", name, attach, eng, n, f.Name, off, err, uint64(res), want, trace.String())
						}
						checked++
					}
				}
			}
		}
	}
	t.Logf("%d reads checked", checked)
}

// TestSockCORE: a program with its own partial struct bpf_sock_ops
// (preserve_access_index) reads the fields at the kernel's offsets, as
// the kernel's loader relocates them, on both engines.
func TestSockCORE(t *testing.T) {
	for _, eng := range []Engine{EngineInterpreter, EngineAuto} {
		spec, err := LoadCollectionSpec("testdata/sock/core_sockops.o")
		if err != nil {
			t.Fatal(err)
		}
		coll, err := NewCollectionWithOptions(spec, CollectionOptions{Engine: eng})
		if err != nil {
			t.Fatal(err)
		}
		in := SockOps{Op: sockOpsRTTCB, Family: afInet6, IsFullsock: 1, RemotePort: port32(443), LocalPort: 40000, SrttUs: 1234}
		res, err := coll.Programs["core_rtt"].Run(&RunOptions{Context: &in})
		if err != nil || uint64(res) != 1 {
			t.Fatalf("%s: %v, return %d", eng, err, uint64(res))
		}
		for k, want := range []uint64{443, 40000, 1234, afInet6} {
			var got uint64
			if err := coll.Maps["core_res"].Lookup(uint32(k), &got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: core_res[%d] = %d, want %d", eng, k, got, want)
			}
		}
		coll.Close()
	}
}

// TestSockUnverified: a program loaded without verification that reads a
// field its attach type may not (user_ip4 in connect6) faults on that
// read in the interpreter and in checked compiled code alike, and one
// that reads a field it may gets the same value from both.
func TestSockUnverified(t *testing.T) {
	engines := []Engine{EngineInterpreter}
	if jit.Supported {
		engines = append(engines, EngineJIT)
	}
	read := func(off int16) isa.Instructions {
		return isa.Instructions{
			{Opcode: uint8(isa.ClassLDX) | uint8(isa.ModeMEM) | uint8(isa.SizeW), Dst: isa.R0, Src: isa.R1, Offset: off},
			{Opcode: isa.OpExit},
		}
	}
	ctx := SockAddr{UserFamily: afInet6, UserIP4: 0x01020304, UserPort: port(443)}
	for _, eng := range engines {
		bad, err := NewProgramWithOptions(&ProgramSpec{Name: "bad", Type: ebpf.CGroupSockAddr, AttachType: ebpf.AttachCGroupInet6Connect, Instructions: read(4)},
			ProgramOptions{SkipVerification: true, Engine: eng})
		if err != nil {
			t.Fatal(err)
		}
		var fault *MemoryFault
		if _, err := bad.Run(&RunOptions{Context: ctx}); !errors.As(err, &fault) {
			t.Errorf("%s: reading user_ip4 in connect6: %v; want a memory fault", eng, err)
		}
		bad.Close()
		good, err := NewProgramWithOptions(&ProgramSpec{Name: "good", Type: ebpf.CGroupSockAddr, AttachType: ebpf.AttachCGroupInet6Connect, Instructions: read(24)},
			ProgramOptions{SkipVerification: true, Engine: eng})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := good.Run(&RunOptions{Context: ctx}); err != nil || uint64(res) != uint64(port(443)) {
			t.Errorf("%s: reading user_port: %v, %#x; want %#x", eng, err, uint64(res), port(443))
		}
		good.Close()
	}
}
