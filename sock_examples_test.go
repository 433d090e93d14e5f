package waggle_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/ringbuf"
)

// ciliumExample returns the object of one of cilium/ebpf's examples in the
// checkout WAGGLE_CILIUM_EBPF names, or skips the test.
func ciliumExample(t *testing.T, name string) string {
	dir := os.Getenv("WAGGLE_CILIUM_EBPF")
	if dir == "" {
		t.Skip("set WAGGLE_CILIUM_EBPF to a checkout of github.com/cilium/ebpf to run its examples")
	}
	obj := filepath.Join(dir, "examples", name, "bpf_bpfel.o")
	if _, err := os.Stat(obj); err != nil {
		t.Skipf("WAGGLE_CILIUM_EBPF has no %s example: %v", name, err)
	}
	return obj
}

// TestCiliumExampleCgroupSKB runs cilium/ebpf's cgroup_skb example (it
// counts egress packets) in waggle and, as root, in the kernel's test
// run: the same return value and count.
func TestCiliumExampleCgroupSKB(t *testing.T) {
	obj := ciliumExample(t, "cgroup_skb")
	const runs = 3
	pkt := kerneltest.FrameUDP4()
	for _, eng := range []waggle.Engine{waggle.EngineInterpreter, waggle.EngineAuto} {
		spec, err := waggle.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: eng})
		if err != nil {
			t.Fatal(err)
		}
		var ret uint64
		for range runs {
			res, err := coll.Programs["count_egress_packets"].Run(&waggle.RunOptions{Data: pkt})
			if err != nil {
				t.Fatal(err)
			}
			ret = uint64(res)
		}
		var count uint64
		if err := coll.Maps["pkt_count"].Lookup(uint32(0), &count); err != nil {
			t.Fatal(err)
		}
		coll.Close()
		if ret != 1 || count != runs {
			t.Errorf("%s: return %d, pkt_count %d; want 1 and %d", eng, ret, count, runs)
		}
	}
	if err := kerneltest.Available(); err != nil {
		t.Logf("not compared with the kernel: %v", err)
		return
	}
	k, err := kerneltest.Run(obj, "count_egress_packets", kerneltest.Input{Data: pkt, Repeat: runs, MapsToDump: []string{"pkt_count"}})
	if err != nil {
		kerneltest.SkipIfUnsupported(t, err)
		t.Fatal(err)
	}
	kv := k.Maps["pkt_count"]
	if k.Retval != 1 || len(kv) != 1 || binary.LittleEndian.Uint64(kv[0].Value) != runs {
		t.Errorf("kernel: return %d, pkt_count %v; waggle: 1 and %d", k.Retval, kv, runs)
	}
}

// TestCiliumExampleTCPRTT runs cilium/ebpf's tcprtt_sockops example, which
// the kernel cannot test-run, through a connection's life in waggle: the
// established callback records the connection and asks for RTT and state
// callbacks, the RTT callback sends an event on the ring buffer, the state
// callback forgets the connection.
func TestCiliumExampleTCPRTT(t *testing.T) {
	obj := ciliumExample(t, "tcprtt_sockops")
	spec, err := waggle.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	prog := coll.Programs["bpf_sockops_cb"]
	rd, err := ringbuf.NewReader(coll.Maps["rtt_events"])
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	be32 := func(v uint32) uint32 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], v)
		return binary.NativeEndian.Uint32(b[:])
	}
	// Linux's numbers (<linux/bpf.h>, <linux/socket.h>), which the
	// program compares with on every host.
	const (
		afInet                     = 2
		sockOpsActiveEstablishedCB = 4  // BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB
		sockOpsRTTCB               = 12 // BPF_SOCK_OPS_RTT_CB
		sockOpsStateCB             = 10 // BPF_SOCK_OPS_STATE_CB
		sockOpsRTTCBFlag           = 8  // BPF_SOCK_OPS_RTT_CB_FLAG
		sockOpsStateCBFlag         = 4  // BPF_SOCK_OPS_STATE_CB_FLAG
	)
	conn := waggle.SockOps{Family: afInet, IsFullsock: 1, State: 1,
		LocalIP4: be32(0x0a010203), RemoteIP4: be32(0xc0a80101), LocalPort: 40000, RemotePort: be32(443), SrttUs: 8 * 25000}
	run := func(op uint32, args0 uint32) waggle.SockOps {
		t.Helper()
		in := conn
		in.Op, in.Reply = op, args0
		var out waggle.SockOps
		res, err := prog.Run(&waggle.RunOptions{Context: &in, ContextOut: &out})
		if err != nil || uint64(res) != 0 {
			t.Fatalf("op %d: %v, return %d", op, err, uint64(res))
		}
		return out
	}
	out := run(sockOpsActiveEstablishedCB, 0)
	if want := uint32(sockOpsRTTCBFlag | sockOpsStateCBFlag); out.BPFSockOpsCBFlags != want {
		t.Errorf("callback flags %#x, want %#x", out.BPFSockOpsCBFlags, want)
	}
	key := []uint32{0x0a010203, 0xc0a80101, 40000, 443} // sk_key, host order
	if n := len(dump(t, coll.Maps["map_estab_sk"])); n != 1 {
		t.Fatalf("map_estab_sk has %d entries after the connection, want 1", n)
	}
	run(sockOpsRTTCB, 0)
	rd.SetDeadline(time.Now().Add(5 * time.Second))
	rec, err := rd.Read()
	if err != nil {
		t.Fatal(err)
	}
	// struct rtt_event { u16 sport, dport; u32 saddr, daddr, srtt; }
	ev := rec.RawSample
	if len(ev) < 16 || binary.NativeEndian.Uint16(ev[0:]) != uint16(key[2]) || binary.NativeEndian.Uint16(ev[2:]) != uint16(key[3]) ||
		binary.NativeEndian.Uint32(ev[4:]) != key[0] || binary.NativeEndian.Uint32(ev[8:]) != key[1] || binary.NativeEndian.Uint32(ev[12:]) != 25 {
		t.Errorf("rtt event %x: want ports %d > %d, addresses %#x > %#x, srtt 25 ms", ev, key[2], key[3], key[0], key[1])
	}
	run(sockOpsStateCB, 1 /* TCP_ESTABLISHED, the state it leaves */)
	if n := len(dump(t, coll.Maps["map_estab_sk"])); n != 0 {
		t.Errorf("map_estab_sk has %d entries after the state callback, want 0", n)
	}
}

func dump(t *testing.T, m *waggle.Map) []waggle.MapEntry {
	t.Helper()
	entries, err := m.Dump()
	if err != nil {
		t.Fatal(err)
	}
	return entries
}
