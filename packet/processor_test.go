package packet_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/packet"
)

func TestActionNames(t *testing.T) {
	for _, tc := range []struct {
		a      packet.Action
		name   string
		passes bool
	}{
		{packet.XDPAborted, "aborted", false},
		{packet.XDPDrop, "drop", false},
		{packet.XDPPass, "pass", true},
		{packet.XDPTx, "tx", true},
		{packet.XDPRedirect, "redirect", false},
		{packet.XDPUnknown, "unknown", false},
		{packet.TCUnspec, "unspec", true},
		{packet.TCOK, "pass", true},
		{packet.TCReclassify, "reclassify", true},
		{packet.TCShot, "drop", false},
		{packet.TCPipe, "pipe", true},
		{packet.TCStolen, "stolen", false},
		{packet.TCQueued, "queued", false},
		{packet.TCRepeat, "repeat", true},
		{packet.TCRedirect, "redirect", false},
		{packet.TCTrap, "trap", false},
		{packet.TCUnknown, "unknown", true},
		{packet.SocketDrop, "drop", false},
		{packet.SocketKeep, "pass", true},
		{packet.SocketTruncate, "truncate", true},
		{packet.Skipped, "skipped", false},
		{0, "Action(0)", false},
		{200, "Action(200)", false},
	} {
		if tc.a.String() != tc.name || tc.a.Passes() != tc.passes {
			t.Errorf("action %d: %q, passes %v; want %q, %v", uint8(tc.a), tc.a, tc.a.Passes(), tc.name, tc.passes)
		}
	}
}

// TestProcessorVerdicts runs the verdict programs on every command and
// checks the return values as well as the actions.
func TestProcessorVerdicts(t *testing.T) {
	coll := loadCollection(t, "testdata/verdicts.o")
	for _, tc := range []struct {
		prog string
		cmd  byte
		ret  uint32
		want packet.Action
		out  int // output length
	}{
		{"xdp_verdict", 0, 0, packet.XDPAborted, 55},
		{"xdp_verdict", 3, 3, packet.XDPTx, 55},
		{"xdp_verdict", 9, 9, packet.XDPUnknown, 55},
		{"tc_verdict", 0xff, 0xffffffff, packet.TCUnspec, 55},
		{"tc_verdict", 2, 2, packet.TCShot, 55},
		{"tc_verdict", 0x80, 0xffffff80, packet.TCUnknown, 55},
		{"sock_verdict", 0, 0, packet.SocketDrop, 0},
		{"sock_verdict", 20, 20, packet.SocketTruncate, 34},
		{"sock_verdict", 41, 41, packet.SocketKeep, 55},
		{"sock_verdict", 255, 255, packet.SocketKeep, 55},
	} {
		p, err := packet.NewProcessor(coll.Programs[tc.prog], packet.ProcessorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f := command(tc.cmd, 40)
		v, out, err := p.Run(f)
		if err != nil {
			t.Fatal(err)
		}
		if v.Return != tc.ret || v.Action != tc.want || len(out) != tc.out {
			t.Errorf("%s on command %#x: %d (%v), %d bytes out; want %d (%v), %d bytes", tc.prog, tc.cmd, v.Return, v, len(out), tc.ret, tc.want, tc.out)
		}
		v2, err := p.Verdict(f)
		if err != nil || v2 != v {
			t.Errorf("%s: Verdict gives %v, %v; Run gave %v", tc.prog, v2, err, v)
		}
	}
}

func TestProcessorRefuses(t *testing.T) {
	coll := loadCollection(t, "testdata/verdicts.o")
	for _, tc := range []struct {
		prog string
		pkt  []byte
		want string
	}{
		{"xdp_verdict", make([]byte, 13), "shorter than an Ethernet header"},
		{"tc_verdict", nil, "shorter than an Ethernet header"},
		{"tc_verdict", make([]byte, 5000), "larger than"},
		{"sock_verdict", ether(etherIPv4, make([]byte, 19)), "shorter than its headers"},
	} {
		p, err := packet.NewProcessor(coll.Programs[tc.prog], packet.ProcessorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v, out, err := p.Run(tc.pkt)
		if !errors.Is(err, packet.ErrRefused) || !strings.Contains(err.Error(), tc.want) || v.Action != packet.Skipped || out != nil {
			t.Errorf("%s on %d bytes: %v, %v, %d bytes; want %q, skipped", tc.prog, len(tc.pkt), v, err, len(out), tc.want)
		}
	}
}

func TestProcessorBudgetAndContext(t *testing.T) {
	insns, err := assembler.Assemble("loop:\nja loop\nexit")
	if err != nil {
		t.Fatal(err)
	}
	// The verifier would refuse the endless loop: load it without, to see the budget end it.
	prog, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: "forever", Type: 6 /* XDP */, Instructions: insns}, waggle.ProgramOptions{SkipVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := packet.NewProcessor(prog, packet.ProcessorOptions{Budget: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verdict(command(0, 10)); !errors.Is(err, waggle.ErrBudgetExhausted) {
		t.Errorf("budget: %v", err)
	}
	p, _ = packet.NewProcessor(prog, packet.ProcessorOptions{Timeout: 10 * time.Millisecond, Budget: math.MaxUint64})
	if _, err := p.Verdict(command(0, 10)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
	st, err := packet.ProcessPcap(prog, bytes.NewReader(pcapBytes(packetsOf(frames(commands)))), nil, packet.Options{Timeout: time.Millisecond, Budget: math.MaxUint64})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ProcessPcap with a timeout: %v, %+v", err, st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, _ = packet.NewProcessor(prog, packet.ProcessorOptions{Context: ctx})
	if _, _, err := p.Run(command(0, 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("context: %v", err)
	}
	_, err = packet.ProcessPcap(prog, bytes.NewReader(pcapBytes(packetsOf(frames()))), nil, packet.Options{Context: ctx, Workers: 2})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ProcessPcap with a done context: %v", err)
	}
}

func TestKindOf(t *testing.T) {
	insns, _ := assembler.Assemble("mov %r0, 0\nexit")
	raw, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "raw", Instructions: insns})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := packet.NewProcessor(raw, packet.ProcessorOptions{}); err == nil || !strings.Contains(err.Error(), `program "raw" is of type RawMemory`) {
		t.Errorf("NewProcessor of a RawMemory program: %v", err)
	}
	if _, err := packet.ProcessPcap(raw, bytes.NewReader(nil), nil, packet.Options{}); err == nil {
		t.Errorf("ProcessPcap of a RawMemory program succeeded")
	}
	coll := loadCollection(t, "testdata/verdicts.o")
	for prog, want := range map[string]packet.Kind{"xdp_verdict": packet.XDP, "tc_verdict": packet.TC, "sock_verdict": packet.SocketFilter} {
		if k, err := packet.KindOf(coll.Programs[prog]); k != want || err != nil {
			t.Errorf("KindOf(%s) = %v, %v", prog, k, err)
		}
	}
}

// TestProcessorAllocs: in the steady state a run allocates nothing, with
// or without the output packet, for every kind.
func TestProcessorAllocs(t *testing.T) {
	if raceDetector {
		t.Skip("allocations cannot be counted under the race detector")
	}
	coll := loadCollection(t, "testdata/verdicts.o")
	pc := loadCollection(t, "../examples/proto_count/proto_count.o")
	frame := exampleFlows[0].frame(pattern(100))
	for _, prog := range []*waggle.Program{coll.Programs["xdp_verdict"], coll.Programs["tc_verdict"], coll.Programs["sock_verdict"], pc.Programs["proto_count"]} {
		p, err := packet.NewProcessor(prog, packet.ProcessorOptions{Context: context.Background()})
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(1000, func() {
			if _, _, err := p.Run(frame); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: Processor.Run allocates %.2f times a packet", prog.Name(), n)
		}
		if n := testing.AllocsPerRun(1000, func() {
			if _, err := p.Verdict(frame); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: Processor.Verdict allocates %.2f times a packet", prog.Name(), n)
		}
		// Runts are refused without allocating, too.
		if n := testing.AllocsPerRun(100, func() { _, _ = p.Verdict(frame[:5]) }); n != 0 {
			t.Errorf("%s: refusing a runt allocates %.2f times", prog.Name(), n)
		}
	}
}

// TestProcessPcapAllocs: ProcessPcap's allocations do not grow with the
// number of packets.
func TestProcessPcapAllocs(t *testing.T) {
	if raceDetector {
		t.Skip("allocations cannot be counted under the race detector")
	}
	coll := loadCollection(t, "../examples/proto_count/proto_count.o")
	prog := coll.Programs["proto_count"]
	small := pcapBytes(generate(4, 1000, exampleFlows, nil, 0))
	large := pcapBytes(generate(4, 20000, exampleFlows, nil, 0))
	for _, workers := range []int{1, 2} {
		for _, out := range []bool{false, true} {
			allocs := func(in []byte) float64 {
				return testing.AllocsPerRun(3, func() {
					var w *bytes.Buffer
					if out {
						w = bytes.NewBuffer(make([]byte, 0, 2*len(in)))
					}
					opts := packet.Options{Workers: workers, Progress: func(int64, int64) {}}
					var err error
					if out {
						_, err = packet.ProcessPcap(prog, bytes.NewReader(in), w, opts)
					} else {
						_, err = packet.ProcessPcap(prog, bytes.NewReader(in), nil, opts)
					}
					if err != nil {
						t.Fatal(err)
					}
				})
			}
			a, b := allocs(small), allocs(large)
			// 19,000 more packets: at most a few more allocations (a
			// sync.Pool refilled after a GC), not one per packet.
			if b > a+20 {
				t.Errorf("workers %d, output %v: %.0f allocations for 1,000 packets, %.0f for 20,000", workers, out, a, b)
			}
			t.Logf("workers %d, output %v: %.0f allocations for 1,000 packets, %.0f for 20,000", workers, out, a, b)
		}
	}
}
