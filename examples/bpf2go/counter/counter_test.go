package counter

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// frame is a line of testdata/frames.txt.
type frame struct {
	name  string
	proto int // -1: not IPv4
	data  []byte
}

func readFrames(t testing.TB) []frame {
	t.Helper()
	f, err := os.Open("testdata/frames.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var frames []frame
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) < 3 {
			t.Fatalf("testdata/frames.txt:%d: want a name, a protocol and hex bytes", line)
		}
		fr := frame{name: fields[0], proto: -1}
		if fields[1] != "-" {
			if fr.proto, err = strconv.Atoi(fields[1]); err != nil {
				t.Fatalf("testdata/frames.txt:%d: protocol: %v", line, err)
			}
		}
		if fr.data, err = hex.DecodeString(strings.Join(fields[2:], "")); err != nil {
			t.Fatalf("testdata/frames.txt:%d: %v", line, err)
		}
		frames = append(frames, fr)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return frames
}

// XDP's verdicts.
const (
	xdpDrop = 1
	xdpPass = 2
)

// testCounter runs every frame through the program and checks the
// verdicts, the map and the variable, as a cilium/ebpf user's test does.
func testCounter(t *testing.T, objs *counterObjects, blocked int) {
	frames := readFrames(t)
	want := map[uint32]counterStats{}
	var wantNonIPv4 uint64
	for _, fr := range frames {
		ret, _, err := objs.CountPackets.Test(fr.data)
		if err != nil {
			t.Fatalf("%s: %v", fr.name, err)
		}
		verdict := uint32(xdpPass)
		if fr.proto >= 0 && fr.proto == blocked {
			verdict = xdpDrop
		}
		if ret != verdict {
			t.Errorf("%s: verdict %d, want %d", fr.name, ret, verdict)
		}
		if fr.proto < 0 {
			wantNonIPv4++
			continue
		}
		s := want[uint32(fr.proto)]
		s.Packets++
		s.Bytes += uint64(len(fr.data))
		want[uint32(fr.proto)] = s
	}
	for proto := range uint32(256) {
		var got counterStats
		if err := objs.ProtoStats.Lookup(proto, &got); err != nil {
			t.Fatalf("proto_stats[%d]: %v", proto, err)
		}
		if w := want[proto]; got.Packets != w.Packets || got.Bytes != w.Bytes {
			t.Errorf("proto_stats[%d] = %d packets, %d bytes; want %d, %d", proto, got.Packets, got.Bytes, w.Packets, w.Bytes)
		}
	}
	var nonIPv4 uint64
	if err := objs.NonIpv4.Get(&nonIPv4); err != nil {
		t.Fatal(err)
	}
	if nonIPv4 != wantNonIPv4 {
		t.Errorf("non_ipv4 = %d, want %d", nonIPv4, wantNonIPv4)
	}
}

func TestCounter(t *testing.T) {
	var objs counterObjects
	if err := loadCounterObjects(&objs, nil); err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	testCounter(t, &objs, 0)
}

// TestCounterBlocked sets a constant before loading, through the spec.
func TestCounterBlocked(t *testing.T) {
	spec, err := loadCounter()
	if err != nil {
		t.Fatal(err)
	}
	const udp = 17
	if err := spec.Variables[counterVarBlockedProto].Set(uint8(udp)); err != nil {
		t.Fatal(err)
	}
	var objs counterObjects
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	testCounter(t, &objs, udp)
}

// TestCounterSpecs reads the specs as bpf2go's specs struct gives them.
func TestCounterSpecs(t *testing.T) {
	spec, err := loadCounter()
	if err != nil {
		t.Fatal(err)
	}
	var specs counterSpecs
	if err := spec.Assign(&specs); err != nil {
		t.Fatal(err)
	}
	if specs.ProtoStats.MaxEntries != 256 || specs.CountPackets.SectionName != "xdp" {
		t.Errorf("specs: proto_stats of %d entries, count_packets in section %q; want 256, xdp", specs.ProtoStats.MaxEntries, specs.CountPackets.SectionName)
	}
}

// BenchmarkCounter measures a run as cilium/ebpf's Program.Benchmark
// does.
func BenchmarkCounter(b *testing.B) {
	var objs counterObjects
	if err := loadCounterObjects(&objs, nil); err != nil {
		b.Fatal(err)
	}
	defer objs.Close()
	frame := readFrames(b)[0]
	ret, perRun, err := objs.CountPackets.Benchmark(frame.data, b.N, b.ResetTimer)
	if err != nil {
		b.Fatal(err)
	}
	if ret != xdpPass {
		b.Fatalf("%s: verdict %d, want %d", frame.name, ret, xdpPass)
	}
	b.ReportMetric(float64(perRun.Nanoseconds()), "ns/run")
}

// Example loads the objects as bpf2go's code does and counts one UDP
// frame.
func Example() {
	var objs counterObjects
	if err := loadCounterObjects(&objs, nil); err != nil {
		fmt.Println(err)
		return
	}
	defer objs.Close()
	frame, _ := hex.DecodeString("ffffffffffff0200000000010800" + // Ethernet, IPv4
		"4500002400000000401100000a0000010a000002" + // IPv4, UDP
		"d431003500100000" + "0000000000000000") // UDP, 8 bytes
	verdict, _, err := objs.CountPackets.Test(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	var udp counterStats
	if err := objs.ProtoStats.Lookup(uint32(17), &udp); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("verdict %d, UDP: %d packet, %d bytes\n", verdict, udp.Packets, udp.Bytes)
	// Output: verdict 2, UDP: 1 packet, 50 bytes
}
