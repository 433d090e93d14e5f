package packet_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/packet"
)

// What the programs must do, written in Go from their C sources' header
// comments: the tests compare the runs with these models.

func ethertype(f []byte) uint16 { return binary.BigEndian.Uint16(f[12:]) }

// firewallModel is examples/firewall with 10.1.2.3 and 10.1.0.0/16
// blocked: the verdict and the drop_counts index counted (-1: none).
func firewallModel(f []byte) (packet.Action, int) {
	if ethertype(f) != etherIPv4 {
		return packet.XDPPass, -1
	}
	if len(f) < 34 || f[14]&0xf < 5 {
		return packet.XDPDrop, 3
	}
	src := netip.AddrFrom4([4]byte(f[26:30]))
	switch {
	case src == netip.MustParseAddr("10.1.2.3"):
		return packet.XDPDrop, 1
	case netip.MustParsePrefix("10.1.0.0/16").Contains(src):
		return packet.XDPDrop, 2
	}
	return packet.XDPPass, 0
}

func fillFirewall(t *testing.T, coll *waggle.Collection) {
	t.Helper()
	addr := netip.MustParseAddr("10.1.2.3").As4()
	if err := coll.Maps["blocked_addrs"].Put(addr[:], uint32(1)); err != nil {
		t.Fatal(err)
	}
	net := netip.MustParseAddr("10.1.0.0").As4()
	key := binary.LittleEndian.AppendUint32(nil, 16)
	if err := coll.Maps["blocked_nets"].Put(append(key, net[:]...), uint32(1)); err != nil {
		t.Fatal(err)
	}
}

// protoModel is examples/proto_count's index for a frame.
func protoModel(f []byte) int {
	l3, et := 14, ethertype(f)
	if et == etherVLAN {
		if len(f) < 18 {
			return 255
		}
		et, l3 = binary.BigEndian.Uint16(f[16:]), 18
	}
	switch {
	case et == etherIPv4 && len(f) >= l3+20:
		return int(f[l3+9])
	case et == etherIPv6 && len(f) >= l3+40:
		return int(f[l3+6])
	}
	return 255
}

// flowKey is examples/flow_stats's struct flow_key.
type flowKey struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
}

func (k flowKey) String() string {
	return fmt.Sprintf("%d %s:%d > %s:%d", k.proto, k.src, k.sport, k.dst, k.dport)
}

// flowModel is examples/flow_stats: the flow of a frame, or the flow_misc
// index that counts it.
func flowModel(f []byte) (flowKey, int) {
	l3, et := 14, ethertype(f)
	if et == etherVLAN {
		if len(f) < 18 {
			return flowKey{}, 0
		}
		et, l3 = binary.BigEndian.Uint16(f[16:]), 18
	}
	var k flowKey
	var l4 int
	switch et {
	case etherIPv4:
		if len(f) < l3+20 {
			return k, 2
		}
		ihl := int(f[l3]&0xf) * 4
		if ihl < 20 {
			return k, 2
		}
		if binary.BigEndian.Uint16(f[l3+6:])&0x1fff != 0 {
			return k, 1
		}
		k.src, k.dst = netip.AddrFrom4([4]byte(f[l3+12:])), netip.AddrFrom4([4]byte(f[l3+16:]))
		k.proto, l4 = f[l3+9], l3+ihl
	case etherIPv6:
		if len(f) < l3+40 {
			return k, 2
		}
		k.src, k.dst = netip.AddrFrom16([16]byte(f[l3+8:])), netip.AddrFrom16([16]byte(f[l3+24:]))
		k.proto, l4 = f[l3+6], l3+40
		for range 4 {
			if k.proto != 0 && k.proto != 43 && k.proto != 60 {
				break
			}
			if len(f) < l4+2 {
				return k, 2
			}
			k.proto, l4 = f[l4], l4+(int(f[l4+1])+1)*8
		}
	default:
		return k, 0
	}
	if k.proto != protoTCP && k.proto != protoUDP {
		return k, 1
	}
	if len(f) < l4+4 {
		return k, 2
	}
	k.sport, k.dport = binary.BigEndian.Uint16(f[l4:]), binary.BigEndian.Uint16(f[l4+2:])
	return k, -1
}

// counters of a map of u64 pairs or single u64s.
func dumpCounters(t *testing.T, m *waggle.Map) map[string]string {
	t.Helper()
	entries, err := m.Dump()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if bytes.Count(e.Value, []byte{0}) == len(e.Value) {
			continue // arrays: unset indexes
		}
		var vals []string
		for v := e.Value; len(v) >= 8; v = v[8:] {
			vals = append(vals, fmt.Sprint(binary.LittleEndian.Uint64(v)))
		}
		out[hex.EncodeToString(e.Key)] = strings.Join(vals, " ")
	}
	return out
}

// checkFirewall compares drop_counts with the model.
func checkFirewall(t *testing.T, coll *waggle.Collection, frames [][]byte) {
	t.Helper()
	counts := make([]uint64, 4)
	for _, f := range frames {
		if len(f) < 14 {
			continue // refused: the program did not run
		}
		if _, reason := firewallModel(f); reason >= 0 {
			counts[reason]++
		}
	}
	want := map[string]string{}
	for i, n := range counts {
		if n > 0 {
			want[hex.EncodeToString(binary.LittleEndian.AppendUint32(nil, uint32(i)))] = fmt.Sprint(n)
		}
	}
	compareMaps(t, "drop_counts", dumpCounters(t, coll.Maps["drop_counts"]), want)
}

func checkProtoCount(t *testing.T, coll *waggle.Collection, frames [][]byte) {
	t.Helper()
	type stat struct{ packets, bytes uint64 }
	stats := map[int]stat{}
	for _, f := range frames {
		if len(f) < 14 {
			continue
		}
		s := stats[protoModel(f)]
		stats[protoModel(f)] = stat{s.packets + 1, s.bytes + uint64(len(f))}
	}
	want := map[string]string{}
	for p, s := range stats {
		want[hex.EncodeToString(binary.LittleEndian.AppendUint32(nil, uint32(p)))] = fmt.Sprintf("%d %d", s.packets, s.bytes)
	}
	compareMaps(t, "proto_stats", dumpCounters(t, coll.Maps["proto_stats"]), want)
}

func checkFlowStats(t *testing.T, coll *waggle.Collection, frames [][]byte) {
	t.Helper()
	want, wantMisc := map[string]string{}, map[string]string{}
	type stat struct{ packets, bytes uint64 }
	flows := map[flowKey]stat{}
	misc := make([]uint64, 4)
	for _, f := range frames {
		if len(f) < 14 {
			continue
		}
		k, m := flowModel(f)
		if m >= 0 {
			misc[m]++
			continue
		}
		s := flows[k]
		flows[k] = stat{s.packets + 1, s.bytes + uint64(len(f))}
	}
	for k, s := range flows {
		want[k.String()] = fmt.Sprintf("%d %d", s.packets, s.bytes)
	}
	for i, n := range misc {
		if n > 0 {
			wantMisc[hex.EncodeToString(binary.LittleEndian.AppendUint32(nil, uint32(i)))] = fmt.Sprint(n)
		}
	}
	got := map[string]string{}
	entries, err := coll.Maps["flows"].Dump()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		k, err := decodeFlowKey(e.Key)
		if err != nil {
			t.Fatal(err)
		}
		got[k.String()] = fmt.Sprintf("%d %d", binary.LittleEndian.Uint64(e.Value), binary.LittleEndian.Uint64(e.Value[8:]))
	}
	compareMaps(t, "flows", got, want)
	compareMaps(t, "flow_misc", dumpCounters(t, coll.Maps["flow_misc"]), wantMisc)
}

// decodeFlowKey reads examples/flow_stats's 40-byte key.
func decodeFlowKey(b []byte) (flowKey, error) {
	if len(b) != 40 {
		return flowKey{}, fmt.Errorf("flow key of %d bytes", len(b))
	}
	if b[37]|b[38]|b[39] != 0 {
		return flowKey{}, fmt.Errorf("flow key padding % x is not zero", b[37:])
	}
	return flowKey{
		src:   netip.AddrFrom16([16]byte(b[0:16])).Unmap(),
		dst:   netip.AddrFrom16([16]byte(b[16:32])).Unmap(),
		sport: binary.BigEndian.Uint16(b[32:]),
		dport: binary.BigEndian.Uint16(b[34:]),
		proto: b[36],
	}, nil
}

func compareMaps(t *testing.T, name string, got, want map[string]string) {
	t.Helper()
	if fmt.Sprint(got) == fmt.Sprint(want) {
		return
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if got[k] != want[k] {
			fmt.Fprintf(&b, "  %s: got %q, want %q\n", k, got[k], want[k])
		}
	}
	t.Errorf("map %s differs from the model:\n%s", name, b.String())
}
