package packet_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle/packet"
)

// benchPackets is the size of the benchmark's capture.
const benchPackets = 1_000_000

// benchFrames are 64-byte frames of the kinds proto_count parses.
func benchFrames() [][]byte {
	pad := func(f []byte) []byte { return append(f, make([]byte, 64-len(f))...) }
	return [][]byte{
		ether(etherIPv4, ipv4("10.1.2.3", "192.168.1.1", protoTCP, tcp(40000, 80, pattern(10)))),
		ether(etherIPv4, ipv4("10.1.9.9", "10.0.0.1", protoUDP, udp(5353, 53, pattern(22)))),
		ether(etherIPv6, ipv6("2001:db8::1", "2001:db8::2", protoUDP, udp(1, 2, pattern(2)))),
		vlan(100, etherIPv4, ipv4("10.1.2.3", "192.168.1.1", protoUDP, udp(1, 2, pattern(18)))),
		pad(ether(etherARP, arp("10.1.2.3", "10.0.0.1"))),
	}
}

// writeBenchCapture writes a capture of benchPackets 64-byte frames
// (mostly IPv4 TCP and UDP) to path.
func writeBenchCapture(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, err := packet.NewWriter(f, packet.WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	frames := benchFrames()
	mix := []int{0, 0, 0, 1, 1, 1, 0, 1, 2, 3, 0, 1, 0, 1, 4, 0}
	ts := epoch
	for i := range benchPackets {
		ts = ts.Add(time.Microsecond)
		if err := w.WritePacket(ts, frames[mix[i%len(mix)]], 64); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkProcessPcap runs examples/proto_count (parse Ethernet, 802.1Q,
// IPv4/IPv6, count packets and bytes per protocol in an array map) over a
// capture of one million 64-byte frames, read from a file: one op is the
// whole file. pkts/s/worker is the figure to compare with the target of 5
// million (with the JIT); allocs/pkt must be 0.
func BenchmarkProcessPcap(b *testing.B) {
	path := filepath.Join(b.TempDir(), "1m.pcap")
	writeBenchCapture(b, path)
	for _, bc := range []struct {
		workers int
		out     bool
	}{{1, false}, {2, false}, {1, true}} {
		name := fmt.Sprintf("workers=%d", bc.workers)
		if bc.out {
			name += "/pcap-out"
		}
		b.Run(name, func(b *testing.B) {
			coll := loadCollection(b, "../examples/proto_count/proto_count.o")
			prog := coll.Programs["proto_count"]
			var out io.Writer
			if bc.out {
				out = io.Discard
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			var packets uint64
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				st, err := packet.ProcessPcap(prog, f, out, packet.Options{Workers: bc.workers})
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				if st.Packets != benchPackets || st.Verdicts["pass"] != benchPackets {
					b.Fatalf("%+v", st)
				}
				packets += st.Packets
			}
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			pps := float64(packets) / elapsed.Seconds()
			b.ReportMetric(pps, "pkts/s")
			b.ReportMetric(pps/float64(bc.workers), "pkts/s/worker")
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(packets), "ns/pkt")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(packets), "allocs/pkt")
		})
	}
}

// BenchmarkProcessor is one Processor run of proto_count on a 64-byte
// frame, without reading or writing a file.
func BenchmarkProcessor(b *testing.B) {
	coll := loadCollection(b, "../examples/proto_count/proto_count.o")
	p, err := packet.NewProcessor(coll.Programs["proto_count"], packet.ProcessorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	frame := benchFrames()[0]
	b.Run("Verdict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Verdict(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Run", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := p.Run(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
}
