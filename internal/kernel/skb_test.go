package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

func ipv4Packet(n int) []byte {
	b := packet(n)
	b[12], b[13] = 0x08, 0x00
	return b
}

func TestSKBFields(t *testing.T) {
	// Kernel 6.18, a 64-byte IPv4 packet to 00:01:02:03:04:05, no ctx_in
	// (waggle: as with ctx_out requested, so wire_len is set).
	load := func(off int, size string) string { return fmt.Sprintf("ldx%s %%r0, [%%r1+%d]\nexit", size, off) }
	cases := []struct {
		off        int
		size       string
		tc, sf     uint64
		tcOK, sfOK bool
	}{
		{0, "w", 64, 50, true, true},    // len
		{4, "w", 3, 3, true, true},      // pkt_type: PACKET_OTHERHOST
		{8, "w", 0, 0, true, true},      // mark
		{12, "w", 0, 0, true, true},     // queue_mapping
		{16, "w", 8, 8, true, true},     // protocol, htons(ETH_P_IP)
		{20, "w", 0, 0, true, true},     // vlan_present
		{40, "w", 1, 1, true, true},     // ifindex: loopback
		{72, "w", 0, 0, true, false},    // tc_classid
		{84, "w", 0, 0, true, true},     // napi_id
		{88, "w", 0, 0, false, false},   // family
		{160, "w", 64, 0, true, false},  // wire_len
		{164, "w", 0, 0, true, true},    // gso_segs
		{176, "w", 0, 0, true, true},    // gso_size
		{152, "dw", 0, 0, true, false},  // tstamp
		{184, "dw", 0, 0, true, false},  // hwtstamp
		{168, "dw", 0, 0, true, true},   // sk: the test run's socket (checked below: not NULL)
		{144, "dw", 0, 0, false, false}, // flow_keys
		{180, "b", 0, 0, true, false},   // tstamp_type
		{181, "b", 0, 0, false, false},  // padding
		{17, "b", 0, 0, true, true},     // narrow read of protocol's 2nd byte
		{16, "h", 8, 8, true, true},     // narrow
		{18, "h", 0, 0, true, true},     // narrow
		{2, "h", 0, 0, true, true},      // narrow read of len's high half
		{1, "h", 0, 0, false, false},    // misaligned
		{0, "dw", 0, 0, false, false},   // too wide
		{48, "dw", 0, 0, true, true},    // cb[0..1]
		{52, "dw", 0, 0, false, false},  // cb misaligned for 8
		{64, "dw", 0, 0, false, false},  // past cb
		{156, "w", 0, 0, false, false},  // half of tstamp
		{192, "w", 0, 0, false, false},  // past the struct
	}
	for _, c := range cases {
		for _, typ := range []ebpf.ProgramType{ebpf.SchedCLS, ebpf.SocketFilter} {
			want, ok := c.tc, c.tcOK
			if typ == ebpf.SocketFilter {
				want, ok = c.sf, c.sfOK
			}
			r := exec(t, typ, Options{}, load(c.off, c.size), Input{Data: ipv4Packet(64)})
			if c.off == skbSk && ok && r.err == nil && r.ret != 0 {
				continue // a pointer to the socket
			}
			if ok != (r.err == nil) || (ok && r.ret != want) {
				t.Errorf("%v ldx%s %d: %d %v; kernel ok=%v %d", typ, c.size, c.off, r.ret, r.err, ok, want)
			}
		}
	}
	// data, data_end; data_meta == data for tc.
	r := mustRun(t, ebpf.SchedCLS, `
	ldxw %r2, [%r1+76]
	ldxw %r3, [%r1+80]
	ldxw %r4, [%r1+140]
	mov %r0, %r3
	sub %r0, %r2
	sub %r2, %r4
	lsh %r2, 16
	or %r0, %r2
	exit`, Input{Data: ipv4Packet(64)})
	if r.ret != 64 {
		t.Errorf("tc data_end - data | (data - data_meta) << 16 = %#x, kernel 0x40", r.ret)
	}
}

func TestSKBProtocolAndType(t *testing.T) {
	// Kernel, tc: protocol | pkt_type << 16 by EtherType and destination.
	src := "ldxw %r0, [%r1+16]\nldxw %r2, [%r1+4]\nlsh %r2, 16\nor %r0, %r2\nexit"
	for _, c := range []struct {
		et   [2]byte
		dst  byte
		want uint64
	}{
		{[2]byte{0x08, 0}, 0, 0x8}, {[2]byte{0x08, 0}, 0xff, 0x20008}, {[2]byte{0x08, 0}, 1, 0x20008}, {[2]byte{0x08, 0}, 2, 0x30008},
		{[2]byte{0x86, 0xdd}, 0, 0xdd86}, {[2]byte{0x05, 0xff}, 0, 0x400}, {[2]byte{0x00, 0x10}, 2, 0x30400},
	} {
		p := packet(64)
		p[12], p[13] = c.et[0], c.et[1]
		for i := 0; i < 6; i++ {
			p[i] = 0
			if c.dst == 0xff || i == 0 {
				p[i] = c.dst
			}
		}
		if r := mustRun(t, ebpf.SchedCLS, src, Input{Data: p}); r.ret != c.want {
			t.Errorf("ethertype % x dst %x: %#x, kernel %#x", c.et, c.dst, r.ret, c.want)
		}
	}
	p := packet(64)
	p[12], p[13], p[14], p[15] = 0x00, 0x10, 0xff, 0xff
	if r := mustRun(t, ebpf.SchedCLS, "ldxw %r0, [%r1+16]\nexit", Input{Data: p}); r.ret != 0x100 {
		t.Errorf("raw 802.3: %#x, kernel 0x100", r.ret)
	}
}

func TestSKBData(t *testing.T) {
	// LD_ABS and skb_load_bytes see skb->data: the Ethernet header for tc,
	// the network header for socket filters (kernel values).
	for _, c := range []struct {
		typ  ebpf.ProgramType
		src  string
		want uint64
	}{
		{ebpf.SchedCLS, "mov %r6, %r1\nldabsw 0\nexit", 0x00010203},
		{ebpf.SchedCLS, "mov %r6, %r1\nldabsw 60\nexit", 0x3c3d3e3f},
		{ebpf.SocketFilter, "mov %r6, %r1\nldabsw 0\nexit", 0x0e0f1011},
		{ebpf.SocketFilter, "mov %r6, %r1\nldabsw 60\nexit", 0}, // past the end: the program ends with 0
	} {
		if r := mustRun(t, c.typ, c.src, Input{Data: ipv4Packet(64)}); r.ret != c.want {
			t.Errorf("%v %q: %#x, kernel %#x", c.typ, c.src, r.ret, c.want)
		}
	}
	loadBytes := func(off int) string {
		return fmt.Sprintf(`
	mov %%r5, 0x55
	stxdw [%%r10-8], %%r5
	mov %%r2, %d
	mov %%r3, %%r10
	add %%r3, -8
	mov %%r4, 4
	call 26
	ldxw %%r1, [%%r10-8]
	lsh %%r0, 32
	or %%r0, %%r1
	exit`, off)
	}
	efault := uint64(neg(errno.EFAULT)) << 32
	for _, c := range []struct {
		typ  ebpf.ProgramType
		off  int
		want uint64
	}{
		{ebpf.SchedCLS, 0, 0x03020100}, {ebpf.SchedCLS, 60, 0x3f3e3d3c}, {ebpf.SchedCLS, 61, efault},
		{ebpf.SocketFilter, 0, 0x11100f0e}, {ebpf.SocketFilter, 46, 0x3f3e3d3c}, {ebpf.SocketFilter, 47, efault},
		{ebpf.SocketFilter, -1, efault},
	} {
		if r := mustRun(t, c.typ, loadBytes(c.off), Input{Data: ipv4Packet(64)}); r.ret != c.want {
			t.Errorf("%v load_bytes %d: %#x, kernel %#x", c.typ, c.off, r.ret, c.want)
		}
	}
	// data_out: tc gives the packet as the program left it; a socket
	// filter's test run pushes back a zeroed Ethernet header.
	r := mustRun(t, ebpf.SchedCLS, "ldxw %r2, [%r1+76]\nstb [%r2+0], 0xee\nmov %r0, 0\nexit", Input{Data: ipv4Packet(64)})
	want := ipv4Packet(64)
	want[0] = 0xee
	if !bytes.Equal(r.out.Data, want) {
		t.Errorf("tc data_out % x", r.out.Data[:16])
	}
	r = mustRun(t, ebpf.SocketFilter, "mov %r0, 0\nexit", Input{Data: ipv4Packet(64)})
	want = ipv4Packet(64)
	clear(want[:14])
	if !bytes.Equal(r.out.Data, want) {
		t.Errorf("socket filter data_out % x", r.out.Data[:16])
	}
	// Sizes: IPv4 needs its header, IPv6 too, other EtherTypes 14 bytes;
	// at most 3712 bytes.
	for _, c := range []struct {
		et  [2]byte
		n   int
		err bool
	}{
		{[2]byte{8, 0}, 33, true}, {[2]byte{8, 0}, 34, false}, {[2]byte{0x86, 0xdd}, 53, true}, {[2]byte{0x86, 0xdd}, 54, false},
		{[2]byte{0x12, 0x34}, 14, false}, {[2]byte{0x12, 0x34}, 13, true}, {[2]byte{0x12, 0x34}, 3712, false}, {[2]byte{0x12, 0x34}, 3713, true},
	} {
		p := packet(c.n)
		if c.n >= 14 {
			p[12], p[13] = c.et[0], c.et[1]
		}
		r := exec(t, ebpf.SchedCLS, Options{}, "mov %r0, 0\nexit", Input{Data: p})
		if (r.err != nil) != c.err || (c.err && !errors.Is(r.err, errno.EINVAL)) {
			t.Errorf("ethertype % x, %d bytes: %v", c.et, c.n, r.err)
		}
	}
}

func skbCtx(fields map[int]uint32) []byte {
	b := make([]byte, skbSize)
	for o, v := range fields {
		binary.NativeEndian.PutUint32(b[o:], v)
	}
	return b
}

func TestSKBContextInOut(t *testing.T) {
	// Kernel: the fields ctx_in may set, for both types.
	allowed := map[int]bool{8: true, 32: true, 36: true, 40: true, 48: true, 52: true, 56: true, 60: true, 64: true,
		152: true, 156: true, 160: true, 164: true, 176: true, 184: true, 188: true}
	for _, typ := range []ebpf.ProgramType{ebpf.SchedCLS, ebpf.SocketFilter} {
		for off := 0; off < skbSize; off += 4 {
			v := uint32(1)
			if off == 160 {
				v = 100 // wire_len must cover the packet
			}
			r := exec(t, typ, Options{}, "mov %r0, 0\nexit", Input{Data: ipv4Packet(64), Context: skbCtx(map[int]uint32{off: v})})
			if (r.err == nil) != allowed[off] {
				t.Errorf("%v ctx_in field at %d: %v", typ, off, r.err)
			}
		}
		// Kernel ctx_out for these inputs.
		in := skbCtx(map[int]uint32{8: 5, 32: 6, 36: 7, 40: 1, 48: 8, 64: 9, 152: 10, 160: 100, 164: 3, 176: 11, 184: 12})
		r := mustRun(t, typ, "mov %r0, 0\nexit", Input{Data: ipv4Packet(64), Context: in})
		if !bytes.Equal(r.out.Context, in) {
			t.Errorf("%v ctx_out differs from ctx_in", typ)
		}
		r = mustRun(t, typ, "mov %r0, 0\nexit", Input{Data: ipv4Packet(64)})
		wire := uint32(64)
		if typ == ebpf.SocketFilter {
			wire = 50
		}
		if want := skbCtx(map[int]uint32{40: 1, 160: wire}); !bytes.Equal(r.out.Context, want) {
			t.Errorf("%v zero ctx_out % x", typ, r.out.Context)
		}
	}
	for _, c := range []struct {
		ctx map[int]uint32
		err error
	}{
		{map[int]uint32{160: 63}, errno.EINVAL}, {map[int]uint32{160: 64}, nil}, {map[int]uint32{160: 65536}, nil},
		{map[int]uint32{160: 65537}, errno.EINVAL}, {map[int]uint32{164: 65535}, nil}, {map[int]uint32{164: 65536}, errno.EINVAL},
	} {
		r := exec(t, ebpf.SchedCLS, Options{}, "mov %r0, 0\nexit", Input{Data: ipv4Packet(64), Context: skbCtx(c.ctx)})
		if !errors.Is(r.err, c.err) && (c.err != nil || r.err != nil) {
			t.Errorf("ctx %v: %v, kernel %v", c.ctx, r.err, c.err)
		}
	}
	if r := exec(t, ebpf.SchedCLS, Options{}, "mov %r0, 0\nexit", Input{Data: ipv4Packet(64), Context: append(skbCtx(nil), 1)}); !errors.Is(r.err, errno.E2BIG) {
		t.Errorf("long ctx_in: %v", r.err)
	}
	// Fields read back what ctx_in set.
	r := mustRun(t, ebpf.SchedCLS, "ldxw %r0, [%r1+36]\nexit", Input{Data: ipv4Packet(64), Context: skbCtx(map[int]uint32{36: 7})})
	if r.ret != 7 {
		t.Errorf("ingress_ifindex %d", r.ret)
	}
}

func TestSKBWrites(t *testing.T) {
	for _, c := range []struct {
		src        string
		tcOK, sfOK bool
		check      func(s *skbState) bool
	}{
		{"stw [%r1+48], 7", true, true, func(s *skbState) bool { return s.cb[0] == 7 }},
		{"stb [%r1+67], 7", true, true, func(s *skbState) bool { return s.cb[19] == 7 }},
		{"mov %r2, -1\nstxdw [%r1+56], %r2", true, true, func(s *skbState) bool { return s.cb[8] == 0xff && s.cb[15] == 0xff }},
		{"stw [%r1+8], 9", true, false, func(s *skbState) bool { return s.mark == 9 }},
		{"stw [%r1+32], 9", true, false, func(s *skbState) bool { return s.priority == 9 }},
		{"mov %r2, 0x12345\nstxw [%r1+44], %r2", true, false, func(s *skbState) bool { return s.tcIndex == 0x2345 }},
		{"mov %r2, 0x12345\nstxw [%r1+72], %r2", true, false, func(s *skbState) bool { return s.tcClassid == 0x2345 }},
		{"stw [%r1+12], 3", true, false, func(s *skbState) bool { return s.queueMapping == 3 }},
		{"mov %r2, 0xffff\nstxw [%r1+12], %r2", true, false, func(s *skbState) bool { return s.queueMapping == 0 }},
		{"mov %r2, 77\nstxdw [%r1+152], %r2", true, false, func(s *skbState) bool { return s.tstamp == 77 }},
		{"stw [%r1+152], 1", false, false, nil},
		{"stb [%r1+8], 1", false, false, nil},
		{"stw [%r1+0], 1", false, false, nil},
		{"stw [%r1+36], 1", false, false, nil},
		{"stw [%r1+160], 1", false, false, nil},
		{"stw [%r1+76], 1", false, false, nil},
		{"stw [%r1+68], 1", false, false, nil},
		{"mov %r2, 1\nstxdw [%r1+184], %r2", false, false, nil},
	} {
		for _, typ := range []ebpf.ProgramType{ebpf.SchedCLS, ebpf.SocketFilter} {
			ok := c.tcOK
			if typ == ebpf.SocketFilter {
				ok = c.sfOK
			}
			r := exec(t, typ, Options{}, c.src+"\nmov %r0, 0\nexit", Input{Data: ipv4Packet(64)})
			if ok != (r.err == nil) {
				t.Errorf("%v %q: %v, kernel allows: %v", typ, c.src, r.err, ok)
				continue
			}
			if ok && !c.check(&r.run.skb) {
				t.Errorf("%v %q: field not set", typ, c.src)
			}
		}
	}
	// Written fields come back in ctx_out and in reads.
	r := mustRun(t, ebpf.SchedCLS, "stw [%r1+8], 42\nldxw %r0, [%r1+8]\nexit", Input{Data: ipv4Packet(64)})
	if r.ret != 42 || binary.NativeEndian.Uint32(r.out.Context[8:]) != 42 {
		t.Errorf("mark: %d", r.ret)
	}
}
