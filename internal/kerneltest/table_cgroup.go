package kerneltest

import (
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf"
)

// cgroupSKBCases run cgroup_skb.o: the cgroup_skb programs, which the
// kernel test-runs as socket filters are (the packet from its network
// header), with direct reads of the packet.
func cgroupSKBCases() []Case {
	var cs []Case
	add := func(c Case) { cs = append(cs, c) }
	tcp4, udp4, icmp4, arp := FrameTCP4(), FrameUDP4(), FrameICMP4(), FrameARP()
	ssh := Ethernet(MACDst, MACSrc, EtherTypeIPv4, IPv4(addrA, addrB, ProtoTCP, TCP(40000, 22, TCPSyn, nil)))
	telnet := Ethernet(MACDst, MACSrc, EtherTypeIPv4, IPv4(addrC, addrD, ProtoUDP, UDP(23, 9999, nil)))
	l3out := func(frame []byte) []byte { return cat(make([]byte, 14), frame[14:]) }
	// ip4 is an IPv4 address of a frame as a load of skb->local_ip4 or
	// remote_ip4 gives it: network order in memory.
	ip4 := func(frame []byte, off int) int64 { return int64(binary.LittleEndian.Uint32(frame[off:])) }
	// ctxOut checks the mark (0x77) and cb[0] (the port) the program set.
	ctxOut := func(port uint32) func(r *Result) error {
		return func(r *Result) error {
			if len(r.CtxOut) != 192 {
				return fmt.Errorf("ctx out has %d bytes, want 192", len(r.CtxOut))
			}
			mark := binary.LittleEndian.Uint32(r.CtxOut[8:])
			cb0 := binary.LittleEndian.Uint32(r.CtxOut[48:])
			if mark != 0x77 || cb0 != port {
				return fmt.Errorf("ctx out mark %#x cb[0] %d, want 0x77 %d", mark, cb0, port)
			}
			return nil
		}
	}
	filter := func(name string, frame []byte, ret uint32, port int64, want []KV) {
		res := append([]KV{at64(0, int64(len(frame)-14)), at(1, le64(uint64(binary.LittleEndian.Uint16(frame[12:]))))}, want...)
		add(Case{Name: "cgroup_skb/cg_port_filter/" + name, Object: progs + "cgroup_skb.o", Program: "cg_port_filter", Type: ebpf.CGroupSKB,
			Data: frame, Context: skbContext(0, 0, 0), Maps: []string{"cg_res"},
			Want: Want{Retval: ret, DataOut: l3out(frame), Maps: map[string][]KV{"cg_res": res}, Check: ctxOut(uint32(port))}})
	}
	inet := func(frame []byte, port int64) []KV {
		kv := []KV{at64(2, port), at64(3, port), at64(4, 2 /* AF_INET */), at64(5, ip4(frame, 26)), at64(6, ip4(frame, 30))}
		if port == 0 {
			kv = append(kv[:1], kv[2:]...) // no port: cg_res[3] is not stored
		}
		return kv
	}
	filter("tcp4_http", tcp4, 1, 80, inet(tcp4, 80))
	filter("tcp4_ssh", ssh, 0, 22, inet(ssh, 22))
	filter("udp4_dns", udp4, 1, 53, inet(udp4, 53))
	filter("udp4_from_telnet", telnet, 0, 9999, inet(telnet, 9999))
	filter("icmp4", icmp4, 1, 0, inet(icmp4, 0))
	filter("arp", arp, 1, 0, nil)
	egress := func(name string, frame []byte, ret uint32) {
		add(Case{Name: "cgroup_skb/cg_egress/" + name, Object: progs + "cgroup_skb.o", Program: "cg_egress", Type: ebpf.CGroupSKB,
			Data: frame, Want: Want{Retval: ret, DataOut: l3out(frame)}})
	}
	egress("udp4", udp4, 3)
	egress("tcp4", tcp4, 2)
	egress("icmp4", icmp4, 1)

	// The test run's socket, behind skb->sk: TCP_CLOSE (7), no receive
	// queue (-1), the packet's addresses.
	tcp6 := FrameTCP6()
	sock := func(name string, frame []byte, kv ...KV) {
		res := append([]KV{at64(0, 1), at64(6, 7), at64(7, -1)}, kv...)
		add(Case{Name: "cgroup_skb/cg_sock_fields/" + name, Object: progs + "cgroup_skb.o", Program: "cg_sock_fields", Type: ebpf.CGroupSKB,
			Data: frame, Maps: []string{"sk_res"}, Want: Want{Retval: 1, DataOut: l3out(frame), Maps: map[string][]KV{"sk_res": res}}})
		if name == "arp" {
			return
		}
		// tc programs and socket filters get the same socket.
		add(Case{Name: "cgroup_skb/tc_sock_fields/" + name, Object: progs + "cgroup_skb.o", Program: "tc_sock_fields", Type: ebpf.SchedCLS,
			Data: frame, Maps: []string{"sk_res"}, Want: Want{Retval: 0, DataOut: frame, Maps: map[string][]KV{"sk_res": res}}})
		add(Case{Name: "cgroup_skb/sock_sock_fields/" + name, Object: progs + "cgroup_skb.o", Program: "sock_sock_fields", Type: ebpf.SocketFilter,
			Data: frame, Maps: []string{"sk_res"}, Want: Want{Retval: uint32(len(frame) - 14), DataOut: l3out(frame), Maps: map[string][]KV{"sk_res": res}}})
	}
	sock("tcp4", tcp4, at64(1, 2), at64(2, ip4(tcp4, 26)), at64(3, ip4(tcp4, 30)))
	sock("tcp6", tcp6, at64(1, 10), at64(8, ip4(tcp6, 22)), at64(9, ip4(tcp6, 50)))
	sock("arp", arp)
	return cs
}
