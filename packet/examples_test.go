package packet_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/waggle-ebpf/waggle/packet"
)

var update = flag.Bool("update", false, "rewrite the examples' traffic.pcap files")

// exampleCaptures are the examples that have a committed traffic.pcap, made
// by exampleTraffic, with the program that runs on it.
var exampleCaptures = map[string]string{
	"firewall":    "firewall",
	"proto_count": "proto_count",
	"flow_stats":  "flow_stats",
}

// TestExampleCaptures checks that the examples' traffic.pcap files are what
// the generator writes (go test ./packet -run TestExampleCaptures -update
// rewrites them), and that their programs pass every packet with the maps
// empty, except the firewall's malformed IPv4 packets.
func TestExampleCaptures(t *testing.T) {
	want := pcapBytes(exampleTraffic())
	for ex, prog := range exampleCaptures {
		path := filepath.Join("..", "examples", ex, "traffic.pcap")
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator writes (go test ./packet -run TestExampleCaptures -update)", path)
		}
		coll := loadCollection(t, filepath.Join("..", "examples", ex, ex+".o"))
		st, err := packet.ProcessPcap(coll.Programs[prog], bytes.NewReader(got), nil, packet.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d packets, %d bytes, verdicts %v", ex, st.Packets, st.Bytes, st.Verdicts)
		if st.Packets != uint64(len(exampleTraffic())) || st.Verdicts["pass"] == 0 || (ex != "firewall" && st.Verdicts["pass"] != st.Packets) {
			t.Errorf("%s: %+v", ex, st)
		}
	}
}
