package packet_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/packet"
)

// loadCollection loads an object (a path relative to this package).
func loadCollection(t testing.TB, obj string) *waggle.Collection {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec(obj)
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

// Frames that every end-to-end case gets on top of the example traffic.
var (
	runts = [][]byte{nil, make([]byte, 10), ether(etherLocal, nil)[:13]}

	flowExtras = [][]byte{
		// IPv4 fragment after the first: no ports.
		func() []byte {
			f := ether(etherIPv4, ipv4("10.2.0.1", "10.2.0.2", protoUDP, udp(7, 7, pattern(16))))
			binary.BigEndian.PutUint16(f[14+6:], 185)
			return f
		}(),
		// IPv4 with 4 bytes of options.
		func() []byte {
			ip := ipv4("10.3.0.1", "10.3.0.2", protoTCP, nil)
			ip[0] = 0x46
			ip = append(ip, 1, 1, 1, 0)
			return ether(etherIPv4, append(ip, tcp(1111, 2222, pattern(5))...))
		}(),
		// IPv6 with a hop-by-hop options header, then UDP.
		ether(etherIPv6, ipv6("2001:db8::7", "2001:db8::8", 0, append([]byte{protoUDP, 0, 1, 4, 0, 0, 0, 0}, udp(9000, 9001, pattern(3))...))),
		// IPv6 fragment header: no ports.
		ether(etherIPv6, ipv6("2001:db8::7", "2001:db8::8", 44, append([]byte{protoUDP, 0, 0, 1, 0, 0, 0, 1}, udp(9000, 9001, nil)...))),
		// UDP cut after 2 bytes of its header.
		ether(etherIPv4, ipv4("10.4.0.1", "10.4.0.2", protoUDP, udp(53, 53, nil)))[:14+20+2],
		// VLAN-tagged IPv6 UDP.
		vlan(7, etherIPv6, ipv6("fd00::1", "fd00::2", protoUDP, udp(4000, 4001, pattern(10)))),
		// A full-size frame.
		ether(etherIPv4, ipv4("10.5.0.1", "10.5.0.2", protoUDP, udp(1, 2, pattern(1472)))),
		// An IPv4 header with a bad checksum.
		func() []byte {
			f := ether(etherIPv4, ipv4("10.6.0.1", "10.6.0.2", protoTCP, tcp(80, 81, nil)))
			f[14+10] ^= 0x5a
			return f
		}(),
	}

	// Frames carrying commands for testdata/verdicts.c.
	commands = func() [][]byte {
		var fs [][]byte
		for _, c := range []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x7f, 0x80, 0xfe, 0xff} {
			fs = append(fs, command(c, 40))
		}
		for _, c := range []byte{20, 40, 41, 42, 200} { // socket filters: keep part, all
			fs = append(fs, command(c, 40))
		}
		return append(fs, command(3, 0))
	}()

	// Frames that tc and socket filter runs refuse: larger than a page.
	jumbo = [][]byte{ether(etherIPv4, ipv4("10.8.0.1", "10.8.0.2", protoUDP, udp(1, 2, pattern(5000))))}
)

func frames(groups ...[][]byte) [][]byte {
	var out [][]byte
	for _, p := range exampleTraffic() {
		out = append(out, p.data)
	}
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// skbRefused reports whether a tc or socket filter test run refuses a frame
// (see packet.ErrRefused).
func skbRefused(f []byte) bool {
	switch {
	case len(f) < 14, len(f) > 4096-64-320:
		return true
	case ethertype(f) == etherIPv4:
		return len(f) < 34
	case ethertype(f) == etherIPv6:
		return len(f) < 54
	}
	return false
}

func swapMACs(f []byte) []byte {
	out := bytes.Clone(f)
	copy(out[0:6], f[6:12])
	copy(out[6:12], f[0:6])
	return out
}

func xdpActionOf(v byte) packet.Action {
	return []packet.Action{packet.XDPAborted, packet.XDPDrop, packet.XDPPass, packet.XDPTx, packet.XDPRedirect}[min(int(v), 4)] + map[bool]packet.Action{true: packet.XDPUnknown - packet.XDPRedirect}[v > 4]
}

func tcActionOf(v int8) packet.Action {
	if v < -1 || v > 8 {
		return packet.TCUnknown
	}
	return []packet.Action{packet.TCUnspec, packet.TCOK, packet.TCReclassify, packet.TCShot, packet.TCPipe,
		packet.TCStolen, packet.TCQueued, packet.TCRepeat, packet.TCRedirect, packet.TCTrap}[v+1]
}

func socketKeep(f []byte, ret uint32) (packet.Action, []byte) {
	l3 := uint32(len(f) - 14)
	switch {
	case ret == 0:
		return packet.SocketDrop, nil
	case ret >= l3:
		return packet.SocketKeep, f
	}
	return packet.SocketTruncate, f[:14+ret]
}

// e2eCase runs a program over a capture: the model gives each frame's
// action and output packet (nil when not written), check the maps.
type e2eCase struct {
	name   string
	obj    string
	prog   string
	frames [][]byte
	setup  func(*testing.T, *waggle.Collection)
	model  func(f []byte) (packet.Action, []byte)
	check  func(*testing.T, *waggle.Collection, [][]byte)
	// kernelMeta is the metadata the kernel's data out starts with
	// (TestKernelAgrees).
	kernelMeta int
}

var e2eCases = []e2eCase{
	{name: "firewall", obj: "../examples/firewall/firewall.o", prog: "firewall", frames: frames(runts, flowExtras),
		setup: fillFirewall,
		model: func(f []byte) (packet.Action, []byte) {
			a, _ := firewallModel(f)
			return a, f
		},
		check: checkFirewall},
	{name: "firewall empty maps", obj: "../examples/firewall/firewall.o", prog: "firewall", frames: frames(flowExtras),
		model: func(f []byte) (packet.Action, []byte) {
			if ethertype(f) == etherIPv4 && (len(f) < 34 || f[14]&0xf < 5) {
				return packet.XDPDrop, f
			}
			return packet.XDPPass, f
		}},
	{name: "proto_count", obj: "../examples/proto_count/proto_count.o", prog: "proto_count", frames: frames(runts, flowExtras, commands),
		model: func(f []byte) (packet.Action, []byte) { return packet.XDPPass, f },
		check: checkProtoCount},
	{name: "flow_stats", obj: "../examples/flow_stats/flow_stats.o", prog: "flow_stats", frames: frames(runts, flowExtras, commands),
		model: func(f []byte) (packet.Action, []byte) { return packet.XDPPass, f },
		check: checkFlowStats},
	{name: "xdp_verdict", obj: "testdata/verdicts.o", prog: "xdp_verdict", frames: frames(runts, flowExtras, commands),
		model: func(f []byte) (packet.Action, []byte) {
			out := bytes.Clone(f)
			if len(f) > 14 {
				out[len(out)-1] = 0xee
			}
			if ethertype(f) != etherLocal || len(f) < 15 {
				return packet.XDPPass, out
			}
			return xdpActionOf(out[14]), out
		}},
	{name: "tc_verdict", obj: "testdata/verdicts.o", prog: "tc_verdict", frames: frames(runts, flowExtras, commands, jumbo),
		model: func(f []byte) (packet.Action, []byte) {
			if ethertype(f) != etherLocal || len(f) < 15 {
				return packet.TCOK, swapMACs(f)
			}
			return tcActionOf(int8(f[14])), swapMACs(f)
		}},
	{name: "sock_verdict", obj: "testdata/verdicts.o", prog: "sock_verdict", frames: frames(runts, flowExtras, commands, jumbo),
		model: func(f []byte) (packet.Action, []byte) {
			if ethertype(f) != etherLocal || len(f) < 15 {
				return socketKeep(f, 0xffff)
			}
			return socketKeep(f, uint32(f[14]))
		}},
	{name: "tc_skb", obj: "../testdata/progs/skb_progs.o", prog: "tc_skb", frames: frames(runts, flowExtras, jumbo),
		model: func(f []byte) (packet.Action, []byte) {
			if ethertype(f) == etherIPv4 {
				return packet.TCOK, f
			}
			return packet.TCShot, f
		}},
	{name: "sock_skb", obj: "../testdata/progs/skb_progs.o", prog: "sock_skb", frames: frames(runts, flowExtras, commands, jumbo),
		model: func(f []byte) (packet.Action, []byte) {
			l3 := f[14:]
			if len(l3) == 0 || l3[0]>>4 != 4 || len(l3) < 16 || int(l3[0]&0xf)*4+4 > len(l3) {
				return packet.SocketDrop, nil
			}
			switch l3[9] {
			case protoTCP:
				return socketKeep(f, uint32(len(l3)))
			case protoUDP:
				return socketKeep(f, 20)
			}
			return packet.SocketDrop, nil
		}},
	{name: "tc_csum", obj: "../testdata/progs/csum.o", prog: "tc_csum", frames: frames(runts, flowExtras),
		model: func(f []byte) (packet.Action, []byte) {
			if ethertype(f) != etherIPv4 || f[14]&0xf != 5 {
				return packet.TCOK, f
			}
			h := bytes.Clone(f[14:34])
			h[10], h[11] = 0, 0
			if checksum(h) == binary.BigEndian.Uint16(f[24:]) {
				return packet.TCOK, f
			}
			return packet.TCShot, f
		}},
	{name: "tc_redirect", obj: "../testdata/progs/redirect.o", prog: "tc_redirect", frames: frames(runts),
		model: func(f []byte) (packet.Action, []byte) { return packet.TCRedirect, f }},
	{name: "xdp_vlan_push", obj: "../testdata/progs/xdp_adjust.o", prog: "xdp_vlan_push", frames: frames(runts, flowExtras),
		model: func(f []byte) (packet.Action, []byte) {
			out := append(bytes.Clone(f[:12]), 0x81, 0x00, 0x00, 100)
			return packet.XDPTx, append(out, f[12:]...)
		}},
	{name: "xdp_tail", obj: "../testdata/progs/xdp_adjust.o", prog: "xdp_tail", frames: frames(runts, flowExtras, commands),
		model: func(f []byte) (packet.Action, []byte) {
			if len(f) > 64 {
				return packet.XDPPass, f[:64]
			}
			return packet.XDPPass, append(append(bytes.Clone(f), make([]byte, 7)...), 0xee)
		}},
	{name: "xdp_meta", obj: "../testdata/progs/xdp_adjust.o", prog: "xdp_meta", frames: frames(runts), kernelMeta: 8,
		model: func(f []byte) (packet.Action, []byte) { return packet.XDPPass, f }},
}

// expected applies a case's model: the action of every frame, and the
// output packets with their lengths on the wire.
func (tc *e2eCase) expected(kind packet.Kind) (actions []packet.Action, out []genPacket, lengths []int) {
	for i, f := range tc.frames {
		if len(f) < 14 || (kind != packet.XDP && skbRefused(f)) {
			actions = append(actions, packet.Skipped)
			continue
		}
		a, o := tc.model(f)
		actions = append(actions, a)
		if a.Passes() {
			out = append(out, genPacket{ts: timestampOf(i), data: o})
			if kind == packet.SocketFilter {
				lengths = append(lengths, len(f))
			} else {
				lengths = append(lengths, len(o))
			}
		}
	}
	return actions, out, lengths
}

// timestampOf is the time of the i-th packet of a case's capture: with
// nanoseconds, which a microsecond capture loses.
func timestampOf(i int) time.Time {
	return epoch.Add(time.Duration(i)*1500*time.Microsecond + time.Duration(i%1000)*time.Nanosecond)
}

// captures are the forms in which the end-to-end tests give a case's
// frames to ProcessPcap.
var captures = []struct {
	name  string
	nano  bool // the capture keeps nanoseconds
	write func([]genPacket) []byte
}{
	{"pcap", false, pcapBytes},
	{"pcap-ns", true, func(p []genPacket) []byte { return pcapBytesWith(p, packet.WriterOptions{Nanosecond: true}) }},
	{"pcapng", true, func(p []genPacket) []byte { return pcapngBytes(p, binary.LittleEndian) }},
	{"pcapng-be", true, func(p []genPacket) []byte { return pcapngBytes(p, binary.BigEndian) }},
}

func TestProcessPcap(t *testing.T) {
	for _, tc := range e2eCases {
		t.Run(tc.name, func(t *testing.T) {
			pkts := make([]genPacket, len(tc.frames))
			for i, f := range tc.frames {
				pkts[i] = genPacket{ts: timestampOf(i), data: f}
			}
			var bytesIn uint64
			for _, f := range tc.frames {
				bytesIn += uint64(len(f))
			}
			for _, capture := range captures {
				in := capture.write(pkts)
				for _, workers := range []int{1, 3} {
					t.Run(fmt.Sprintf("%s/workers=%d", capture.name, workers), func(t *testing.T) {
						coll := loadCollection(t, tc.obj)
						prog := coll.Programs[tc.prog]
						kind, err := packet.KindOf(prog)
						if err != nil {
							t.Fatal(err)
						}
						actions, wantOut, wantLen := tc.expected(kind)
						wantVerdicts := map[string]uint64{}
						for _, a := range actions {
							wantVerdicts[a.String()]++
						}
						if tc.setup != nil {
							tc.setup(t, coll)
						}
						var out bytes.Buffer
						var progress []int64
						st, err := packet.ProcessPcap(prog, bytes.NewReader(in), &out, packet.Options{
							Workers:  workers,
							Progress: func(done, total int64) { progress = append(progress, done, total) },
						})
						if err != nil {
							t.Fatal(err)
						}
						if st.Packets != uint64(len(tc.frames)) || st.Bytes != bytesIn || st.Written != uint64(len(wantOut)) || st.Workers != workers {
							t.Errorf("stats: %d packets, %d bytes, %d written, %d workers; want %d, %d, %d, %d",
								st.Packets, st.Bytes, st.Written, st.Workers, len(tc.frames), bytesIn, len(wantOut), workers)
						}
						if fmt.Sprint(st.Verdicts) != fmt.Sprint(wantVerdicts) {
							t.Errorf("verdicts %v, want %v", st.Verdicts, wantVerdicts)
						}
						if n := len(progress); n < 2 || progress[n-2] != int64(len(in)) || progress[n-1] != int64(len(in)) {
							t.Errorf("the last progress report is not (%d, %d): %v", len(in), len(in), progress)
						}
						checkOutput(t, out.Bytes(), wantOut, wantLen, capture.nano)
						if tc.check != nil {
							tc.check(t, coll, tc.frames)
						}
					})
				}
			}
		})
	}
}

// checkOutput reads an output capture and compares it with the packets
// expected, in order.
func checkOutput(t *testing.T, got []byte, want []genPacket, lengths []int, nano bool) {
	t.Helper()
	rd, err := packet.NewReader(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	if rd.Format() != packet.Pcap || rd.LinkType() != packet.LinkTypeEthernet || rd.Nanosecond() != nano {
		t.Errorf("output: %v, link type %v, nanosecond %v; want pcap, Ethernet, %v", rd.Format(), rd.LinkType(), rd.Nanosecond(), nano)
	}
	for i := 0; ; i++ {
		rec, err := rd.Next()
		if err == io.EOF {
			if i != len(want) {
				t.Errorf("output has %d packets, want %d", i, len(want))
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			continue
		}
		ts := want[i].ts
		if !nano {
			ts = ts.Truncate(time.Microsecond)
		}
		if !rec.Timestamp.Equal(ts) || !bytes.Equal(rec.Data, want[i].data) || rec.Length != lengths[i] {
			t.Errorf("output packet %d: %v, %d bytes of %d: %x\nwant %v, %d bytes of %d: %x",
				i+1, rec.Timestamp, len(rec.Data), rec.Length, rec.Data, ts, len(want[i].data), lengths[i], want[i].data)
		}
	}
}

// TestProcessPcapNoOutput: without an output the counts are the same.
func TestProcessPcapNoOutput(t *testing.T) {
	tc := e2eCases[0]
	in := pcapBytes(packetsOf(tc.frames))
	for _, workers := range []int{1, 2} {
		coll := loadCollection(t, tc.obj)
		tc.setup(t, coll)
		st, err := packet.ProcessPcap(coll.Programs[tc.prog], bytes.NewReader(in), nil, packet.Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if st.Written != 0 || st.Packets != uint64(len(tc.frames)) {
			t.Errorf("workers %d: %d written, %d packets", workers, st.Written, st.Packets)
		}
		tc.check(t, coll, tc.frames)
	}
}

func packetsOf(frames [][]byte) []genPacket {
	pkts := make([]genPacket, len(frames))
	for i, f := range frames {
		pkts[i] = genPacket{ts: timestampOf(i), data: f}
	}
	return pkts
}

// TestProcessPcapWorkers: many workers on a long capture give the same
// counts, the same output and the same maps as one.
func TestProcessPcapWorkers(t *testing.T) {
	pkts := generate(3, 5000, exampleFlows, append(append([][]byte{}, exampleExtras...), flowExtras...), 4)
	in := pcapBytes(pkts)
	var first []byte
	var firstStats *packet.Stats
	var firstFlows map[string]string
	for _, workers := range []int{1, 2, 4, 7} {
		coll := loadCollection(t, "../examples/flow_stats/flow_stats.o")
		var out bytes.Buffer
		st, err := packet.ProcessPcap(coll.Programs["flow_stats"], bytes.NewReader(in), &out, packet.Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		frames := make([][]byte, len(pkts))
		for i, p := range pkts {
			frames[i] = p.data
		}
		checkFlowStats(t, coll, frames)
		flows := dumpCounters(t, coll.Maps["flows"])
		if first == nil {
			first, firstStats, firstFlows = out.Bytes(), st, flows
			if !bytes.Equal(first, in) {
				t.Errorf("flow_stats passes every packet unchanged, but the output differs from the input")
			}
			continue
		}
		if !bytes.Equal(out.Bytes(), first) {
			t.Errorf("workers %d: the output differs from one worker's", workers)
		}
		if fmt.Sprint(st.Verdicts) != fmt.Sprint(firstStats.Verdicts) || st.Packets != firstStats.Packets || st.LastReturn != firstStats.LastReturn {
			t.Errorf("workers %d: %+v, one worker: %+v", workers, st, firstStats)
		}
		if fmt.Sprint(flows) != fmt.Sprint(firstFlows) {
			t.Errorf("workers %d: the flows differ from one worker's", workers)
		}
	}
}

// TestProcessPcapErrors: a capture that is cut, corrupt or of another link
// type, and a program that fails, stop the processing with an error that
// says where; the packets before are counted and written.
func TestProcessPcapErrors(t *testing.T) {
	pkts := packetsOf(frames())
	good := pcapBytes(pkts)
	// Record 40 starts after the header and 39 records.
	off40 := 24
	for _, p := range pkts[:39] {
		off40 += 16 + len(p.data)
	}
	sll := bytes.Clone(good)
	sll[20] = 113
	ngHead := le().section().iface(1, 0).epb(0, uint64(pkts[0].ts.UnixMicro()), pkts[0].data, uint32(len(pkts[0].data))).iface(276, 0)
	ngOff := len(ngHead.b)
	ng := ngHead.epb(1, 0, pkts[1].data, uint32(len(pkts[1].data))).b
	faulty := faultyProgram(t)
	for _, tc := range []struct {
		name    string
		in      []byte
		prog    *waggle.Program
		want    string
		packets uint64 // processed before the error; -1: no stats
		isEOF   bool
		runErr  bool
	}{
		{name: "truncated", in: good[:off40+20], packets: 39, isEOF: true,
			want: fmt.Sprintf("record 40 at byte %d: the file ends after 4 of the record's %d captured bytes", off40, len(pkts[39].data))},
		{name: "truncated header", in: good[:off40+3], packets: 39, isEOF: true,
			want: fmt.Sprintf("record 40 at byte %d: the file ends after 3 of the record header's 16 bytes", off40)},
		{name: "link type", in: sll, want: "pcap header: link type 113 (LINUX_SLL (Linux cooked capture)) is not Ethernet (1)"},
		{name: "pcapng link type", in: ng, packets: 1, want: fmt.Sprintf("record 2 at byte %d: link type 276 (LINUX_SLL2 (Linux cooked capture v2)) is not Ethernet (1)", ngOff)},
		{name: "not a capture", in: []byte("hello, world"), want: "not a pcap or pcapng file"},
		{name: "run fails", in: good, prog: faulty, packets: 0, runErr: true,
			want: `record 1 at byte 24: run program "faulty": `},
	} {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/workers=%d", tc.name, workers), func(t *testing.T) {
				prog := tc.prog
				if prog == nil {
					prog = loadCollection(t, "../examples/proto_count/proto_count.o").Programs["proto_count"]
				}
				var out bytes.Buffer
				st, err := packet.ProcessPcap(prog, bytes.NewReader(tc.in), &out, packet.Options{Workers: workers})
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				if errors.Is(err, io.ErrUnexpectedEOF) != tc.isEOF {
					t.Errorf("errors.Is(err, io.ErrUnexpectedEOF) = %v", !tc.isEOF)
				}
				var re *waggle.RunError
				if errors.As(err, &re) != tc.runErr {
					t.Errorf("errors.As(err, *waggle.RunError) = %v", !tc.runErr)
				}
				if st == nil {
					if tc.packets != 0 {
						t.Fatalf("no stats")
					}
					return
				}
				if st.Packets != tc.packets || st.Written != tc.packets {
					t.Errorf("%d packets processed, %d written; want %d", st.Packets, st.Written, tc.packets)
				}
				if tc.packets > 0 {
					checkOutput(t, out.Bytes(), pkts[:tc.packets], lengthsOf(pkts[:tc.packets]), bytes.HasPrefix(tc.in, []byte{0x0a, 0x0d, 0x0d, 0x0a}))
				}
			})
		}
	}
}

func lengthsOf(pkts []genPacket) []int {
	l := make([]int, len(pkts))
	for i, p := range pkts {
		l[i] = len(p.data)
	}
	return l
}

// faultyProgram is an XDP program that reads past its context.
func faultyProgram(t *testing.T) *waggle.Program {
	t.Helper()
	insns, err := assembler.Assemble("ldxw %r0, [%r1+1000]\nexit")
	if err != nil {
		t.Fatal(err)
	}
	// The verifier would refuse it: load it without, to see the fault at run time.
	p, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: "faulty", Type: ebpf.XDP, Instructions: insns}, waggle.ProgramOptions{SkipVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
