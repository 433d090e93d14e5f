package kerneltest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"
)

// Return values of XDP and TC programs.
const (
	xdpAborted = 0
	xdpDrop    = 1
	xdpPass    = 2
	xdpTX      = 3
	xdpRedir   = 4

	tcOK       = 0
	tcShot     = 2
	tcRedirect = 7
	tcUnspec   = 0xffffffff // -1
)

// Negative errno values as programs store them (s64).
const (
	eNOENT = -2
	eE2BIG = -7
	eACCES = -13
	eFAULT = -14
	eEXIST = -17
	eINVAL = -22
	eRANGE = -34
)

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func s64(v int64) []byte   { return le64(uint64(v)) }

// at is array index i holding v.
func at(i int, v []byte) KV { return KV{Key: le32(uint32(i)), Value: v} }

// at64 is array index i holding the u64 v.
func at64(i int, v int64) KV { return at(i, s64(v)) }

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func addr4(s string) []byte {
	a := netip.MustParseAddr(s).As4()
	return a[:]
}

// ipArg is an IPv4 address as a program argument whose low 32 bits, as
// they lie in memory, are the address in network order.
func ipArg(s string) uint64 {
	return uint64(binary.LittleEndian.Uint32(addr4(s)))
}

func args(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func stat(packets, bytes uint64) []byte { return cat(le64(packets), le64(bytes)) }

func first(b []byte, n int) []byte { return slices.Clone(b[:n]) }

func byteSum(b []byte) int64 {
	var s int64
	for _, x := range b {
		s += int64(x)
	}
	return s
}

// lpmKey4 is a key of lpm.c's routes4 and the firewall's blocked_nets.
func lpmKey4(plen uint32, addr string) []byte { return cat(le32(plen), addr4(addr)) }

func lpmKey6(plen uint32, addr string) []byte {
	a := netip.MustParseAddr(addr).As16()
	return cat(le32(plen), a[:])
}

// skbContext is a struct __sk_buff (192 bytes) with the fields that
// BPF_PROG_TEST_RUN accepts set: mark, priority and cb[0].
func skbContext(mark, priority, cb0 uint32) []byte {
	b := make([]byte, 192)
	binary.LittleEndian.PutUint32(b[8:], mark)
	binary.LittleEndian.PutUint32(b[32:], priority)
	binary.LittleEndian.PutUint32(b[48:], cb0)
	return b
}

// hashOp is one operation of hash_maps.c's context.
type hashOp struct {
	cmd, key      uint32
	value, flags  uint64
	ret           int64
	expectedValue uint64
}

func hashOpsContext(ops []hashOp, withResults bool) []byte {
	b := make([]byte, 8+16*32)
	binary.LittleEndian.PutUint32(b[0:], uint32(len(ops)))
	if withResults {
		binary.LittleEndian.PutUint32(b[4:], uint32(len(ops)))
	}
	for i, op := range ops {
		o := b[8+32*i:]
		binary.LittleEndian.PutUint32(o[0:], op.cmd)
		binary.LittleEndian.PutUint32(o[4:], op.key)
		v := op.value
		if withResults {
			v = op.expectedValue
			binary.LittleEndian.PutUint64(o[24:], uint64(op.ret))
		}
		binary.LittleEndian.PutUint64(o[8:], v)
		binary.LittleEndian.PutUint64(o[16:], op.flags)
	}
	return b
}

// strContext is strings.c's struct str_ctx (144 bytes) with name and num
// set; the outputs are filled in for an expected context.
func strContext(name string, num int64, out, small string, outRet, smallRet int64, cmp [3]int64, printk int64, withResults bool) []byte {
	b := make([]byte, 144)
	copy(b[0:16], name)
	binary.LittleEndian.PutUint64(b[16:], uint64(num))
	if withResults {
		copy(b[24:88], out)
		binary.LittleEndian.PutUint64(b[88:], uint64(outRet))
		copy(b[96:104], small)
		binary.LittleEndian.PutUint64(b[104:], uint64(smallRet))
		for i, c := range cmp {
			binary.LittleEndian.PutUint64(b[112+8*i:], uint64(c))
		}
		binary.LittleEndian.PutUint64(b[136:], uint64(printk))
	}
	return b
}

const progs = "testdata/progs/"

// Cases returns every test case: at least one per program of
// testdata/progs and of the examples. The packets are built anew on each
// call.
func Cases() []Case {
	var cs []Case
	add := func(c Case) { cs = append(cs, c) }

	tcp4, udp4, icmp4 := FrameTCP4(), FrameUDP4(), FrameICMP4()
	tcp6, icmp6 := FrameTCP6(), FrameICMP6()
	arp, vlan := FrameARP(), FrameVLANTCP4()

	// xdp_parse.o
	parse := func(name string, data []byte, repeat int, ret uint32, class []KV, l4 []KV) {
		add(Case{Name: "xdp_parse/xdp_parse/" + name, Object: progs + "xdp_parse.o", Program: "xdp_parse", Type: ebpf.XDP,
			Data: data, Repeat: repeat, Maps: []string{"pkt_class", "l4_stats"},
			Want: Want{Retval: ret, DataOut: data, Maps: map[string][]KV{"pkt_class": class, "l4_stats": l4}}})
	}
	parse("tcp4", tcp4, 1, xdpPass, []KV{at64(2, 1)}, []KV{{le32(ProtoTCP), stat(1, 59)}})
	parse("icmp4x3", icmp4, 3, xdpDrop, []KV{at64(2, 3)}, []KV{{le32(ProtoICMP), stat(3, 3*58)}})
	parse("vlan_tcp4", vlan, 1, xdpPass, []KV{at64(2, 1), at64(5, 1)}, []KV{{le32(ProtoTCP), stat(1, 63)}})
	parse("arp", arp, 1, xdpPass, []KV{at64(1, 1)}, nil)
	parse("tcp6", tcp6, 1, xdpPass, []KV{at64(3, 1)}, []KV{{le32(ProtoTCP), stat(1, 74)}})
	parse("icmp6", icmp6, 1, xdpPass, []KV{at64(3, 1)}, []KV{{le32(ProtoICMPv6), stat(1, 62)}})
	parse("short_ipv4", FrameShortIPv4(), 1, xdpDrop, []KV{at64(0, 1)}, nil)
	parse("other", FrameOther(), 1, xdpPass, []KV{at64(4, 1)}, nil)
	add(Case{Name: "xdp_parse/xdp_len_hist/big_x2", Object: progs + "xdp_parse.o", Program: "xdp_len_hist", Type: ebpf.XDP,
		Data: FrameBigUDP4(), Repeat: 2, Maps: []string{"len_hist"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{"len_hist": {at64(3, 2)}}}})
	add(Case{Name: "xdp_parse/xdp_len_hist/minimal", Object: progs + "xdp_parse.o", Program: "xdp_len_hist", Type: ebpf.XDP,
		Data: FrameMinimal(), Maps: []string{"len_hist"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{"len_hist": {at64(0, 1)}}}})

	// global_data.o: .data counter; .bss runs, last_scaled, greeting_sum;
	// .rodata multiplier, rodata_bias, greeting; .data.foo foo_values.
	rodata := cat(le32(3), le32(7), []byte("waggle\x00\x00"))
	add(Case{Name: "global_data/tc_globals/udp4_x2", Object: progs + "global_data.o", Program: "tc_globals", Type: ebpf.SchedCLS,
		Data: udp4, Repeat: 2, Maps: []string{".data", ".bss", ".rodata", ".data.foo"},
		Want: Want{Retval: tcOK, Maps: map[string][]KV{
			".data":     {at64(0, 200)},
			".bss":      {at(0, cat(le64(2), le64(150), le64(0)))},
			".rodata":   {at(0, rodata)},
			".data.foo": {at(0, cat(le32(1), le32(2), le32(5), le32(4)))},
		}}})
	add(Case{Name: "global_data/tc_greeting_sum/udp4", Object: progs + "global_data.o", Program: "tc_greeting_sum", Type: ebpf.SchedCLS,
		Data: udp4, Maps: []string{".bss", ".data"},
		Want: Want{Retval: 638, Maps: map[string][]KV{
			".bss":  {at(0, cat(le64(0), le64(0), le64(638)))},
			".data": {at64(0, 100)},
		}}})

	// hash_maps.o
	ops := []hashOp{
		{cmd: 1, key: 1, value: 10, flags: 0, ret: 0, expectedValue: 10},
		{cmd: 1, key: 1, value: 11, flags: 1 /* NOEXIST */, ret: eEXIST, expectedValue: 11},
		{cmd: 1, key: 2, value: 20, flags: 2 /* EXIST */, ret: eNOENT, expectedValue: 20},
		{cmd: 1, key: 2, value: 20, ret: 0, expectedValue: 20},
		{cmd: 1, key: 3, value: 30, ret: 0, expectedValue: 30},
		{cmd: 1, key: 4, value: 40, ret: 0, expectedValue: 40},
		{cmd: 1, key: 5, value: 50, ret: eE2BIG, expectedValue: 50},
		{cmd: 1, key: 1, value: 12, flags: 2, ret: 0, expectedValue: 12},
		{cmd: 2, key: 1, value: 0, ret: 0, expectedValue: 12},
		{cmd: 3, key: 3, ret: 0},
		{cmd: 3, key: 3, ret: eNOENT},
		{cmd: 1, key: 5, value: 50, flags: 1, ret: 0, expectedValue: 50},
		{cmd: 4, key: 5, value: 5, ret: 0, expectedValue: 5},
		{cmd: 2, key: 9, value: 77, ret: eNOENT, expectedValue: 77},
		{cmd: 0x11, key: 1, value: 100, ret: 0, expectedValue: 100},
		{cmd: 0x14, key: 1, value: 1, ret: 0, expectedValue: 1},
	}
	add(Case{Name: "hash_maps/hash_ops/sequence", Object: progs + "hash_maps.o", Program: "hash_ops", Type: ebpf.Syscall,
		Context: hashOpsContext(ops, false), Maps: []string{"hmap", "phmap"},
		Want: Want{Retval: 0, CtxOut: hashOpsContext(ops, true), Maps: map[string][]KV{
			"hmap":  {{le32(1), le64(12)}, {le32(2), le64(20)}, {le32(4), le64(40)}, {le32(5), le64(55)}},
			"phmap": {{le32(1), le64(101)}},
		}}})
	badOps := []hashOp{
		{cmd: 7, key: 1, value: 1, ret: eINVAL, expectedValue: 1},
		{cmd: 1, key: 1, value: 1, flags: 99, ret: eINVAL, expectedValue: 1},
	}
	add(Case{Name: "hash_maps/hash_ops/invalid", Object: progs + "hash_maps.o", Program: "hash_ops", Type: ebpf.Syscall,
		Context: hashOpsContext(badOps, false), Maps: []string{"hmap", "phmap"},
		Want: Want{Retval: 0, CtxOut: hashOpsContext(badOps, true), Maps: map[string][]KV{"hmap": nil, "phmap": nil}}})

	// lru_maps.o
	add(Case{Name: "lru_maps/tc_lru/tcp4_x3", Object: progs + "lru_maps.o", Program: "tc_lru", Type: ebpf.SchedCLS,
		Data: tcp4, Repeat: 3, Maps: []string{"by_src", "by_port"},
		Want: Want{Retval: tcOK, Maps: map[string][]KV{
			"by_src":  {{addr4("10.1.2.3"), stat(3, 3*59)}},
			"by_port": {{le32(80), le64(3)}},
		}}})
	add(Case{Name: "lru_maps/tc_lru/udp4", Object: progs + "lru_maps.o", Program: "tc_lru", Type: ebpf.SchedCLS,
		Data: udp4, Maps: []string{"by_src", "by_port"},
		Want: Want{Retval: tcOK, Maps: map[string][]KV{
			"by_src":  {{addr4("10.1.9.9"), stat(1, 50)}},
			"by_port": {{le32(53), le64(1)}},
		}}})
	add(Case{Name: "lru_maps/tc_lru/arp", Object: progs + "lru_maps.o", Program: "tc_lru", Type: ebpf.SchedCLS,
		Data: arp, Maps: []string{"by_src", "by_port"},
		Want: Want{Retval: tcUnspec, Maps: map[string][]KV{"by_src": nil, "by_port": nil}}})

	// percpu_maps.o
	add(Case{Name: "percpu_maps/xdp_percpu/tcp4_x4", Object: progs + "percpu_maps.o", Program: "xdp_percpu", Type: ebpf.XDP,
		Data: tcp4, Repeat: 4, Maps: []string{"pcpu_stats", "pcpu_proto", "props"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{
			"pcpu_stats": {at64(0, 4), at64(1, 4*59)},
			"pcpu_proto": {{le32(EtherTypeIPv4), le64(4)}},
			"props":      {at64(0, 4), at64(1, 4)},
		}}})

	// lpm.o
	routes4 := []KV{
		{lpmKey4(8, "10.0.0.0"), le32(1)},
		{lpmKey4(16, "10.1.0.0"), le32(2)},
		{lpmKey4(24, "10.1.2.0"), le32(3)},
		{lpmKey4(32, "10.1.2.3"), le32(4)},
		{lpmKey4(16, "192.168.0.0"), le32(5)},
	}
	routes6 := []KV{
		{lpmKey6(32, "2001:db8::"), le32(1)},
		{lpmKey6(48, "2001:db8:1::"), le32(2)},
	}
	lpm := func(name string, data []byte, ret uint32, class int) {
		counts := []KV{at64(class, 1)}
		if class < 0 {
			counts = nil
		}
		add(Case{Name: "lpm/xdp_lpm/" + name, Object: progs + "lpm.o", Program: "xdp_lpm", Type: ebpf.XDP,
			Data: data, Maps: []string{"class_count", "routes4", "routes6"},
			Want: Want{Retval: ret, Maps: map[string][]KV{"class_count": counts, "routes4": routes4, "routes6": routes6}}})
	}
	lpm("tcp4_host_route", tcp4, xdpPass, 4)
	lpm("udp4_slash16", udp4, xdpPass, 2)
	lpm("icmp4_192_168", icmp4, xdpPass, 5)
	lpm("tcp6_slash48", tcp6, xdpPass, 2)
	lpm("udp6_slash32", FrameUDP6(), xdpPass, 1)
	lpm("unrouted4", FrameUnrouted4(), xdpDrop, 0)
	lpm("arp", arp, xdpDrop, -1)
	add(Case{Name: "lpm/rtp_lpm/delete_slash24", Object: progs + "lpm.o", Program: "rtp_lpm", Type: ebpf.RawTracepoint,
		Context: args(24, ipArg("10.1.2.0"), ipArg("10.1.2.3"), ipArg("10.1.2.4"), ipArg("10.1.3.1"), ipArg("8.8.8.8")),
		Maps:    []string{"lpm_result", "routes4"},
		Want: Want{Retval: 3, Maps: map[string][]KV{
			"lpm_result": {at64(0, 0), at64(1, eNOENT), at64(2, 4), at64(3, 2), at64(4, 2), at64(5, 0xffffffff)},
			"routes4":    slices.Delete(slices.Clone(routes4), 2, 3),
		}}})

	// ringbuf.o
	summary := func(n uint32) []byte { return cat(le32(n), le32(0x5741474c)) }
	add(Case{Name: "ringbuf/xdp_ringbuf/tcp4_odd_x2", Object: progs + "ringbuf.o", Program: "xdp_ringbuf", Type: ebpf.XDP,
		Data: tcp4, Repeat: 2, Maps: []string{"events", "rb_query", ".bss"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{
			// Discarded 24-byte events take 32 bytes each, summaries 16.
			"events":   {at(0, summary(59)), at(1, summary(59))},
			"rb_query": {at64(0, 96), at64(1, 4096), at64(2, 0), at64(3, 96)},
			".bss":     {at(0, le16(2))},
		}}})
	add(Case{Name: "ringbuf/xdp_ringbuf/udp4_even", Object: progs + "ringbuf.o", Program: "xdp_ringbuf", Type: ebpf.XDP,
		Data: udp4, Maps: []string{"events", "rb_query"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{
			"events":   {at(0, cat(le32(50), []byte{0x08, 0x00}, le16(0), first(udp4, 16))), at(1, summary(50))},
			"rb_query": {at64(0, 48), at64(1, 4096), at64(2, 0), at64(3, 48)},
		}}})
	var fill []KV
	for i := range 4 {
		fill = append(fill, at(i, cat(le64(uint64(i)), make([]byte, 992))))
	}
	fill = append(fill, at(4, cat([]byte{48}, make([]byte, 47))))
	add(Case{Name: "ringbuf/sys_ringbuf_fill/full", Object: progs + "ringbuf.o", Program: "sys_ringbuf_fill", Type: ebpf.Syscall,
		Maps: []string{"fill_events"},
		Want: Want{Retval: 114, Maps: map[string][]KV{"fill_events": fill}}})

	// queue_stack.o
	b := int64(100)
	add(Case{Name: "queue_stack/rtp_queue_stack/base100", Object: progs + "queue_stack.o", Program: "rtp_queue_stack", Type: ebpf.RawTracepoint,
		Context: args(uint64(b)), Maps: []string{"qs_result", "queue", "stack"},
		Want: Want{Retval: 0, Maps: map[string][]KV{
			"qs_result": {at64(0, 0), at64(1, 0), at64(2, 0), at64(3, 0), at64(4, eE2BIG), at64(5, 0),
				at64(6, b+2), at64(7, b+2), at64(8, b+3),
				at64(9, 0), at64(10, 0), at64(11, 0), at64(12, 0), at64(13, eE2BIG), at64(14, 0),
				at64(15, b+6), at64(16, b+6), at64(17, b+4)},
			"queue": {at(0, le32(uint32(b+4))), at(1, le32(uint32(b+6)))},
			"stack": {at(0, le32(uint32(b+3))), at(1, le32(uint32(b+2)))},
		}}})
	add(Case{Name: "queue_stack/tc_queue_len/udp4_x3", Object: progs + "queue_stack.o", Program: "tc_queue_len", Type: ebpf.SchedCLS,
		Data: udp4, Repeat: 3, Maps: []string{"lengths"},
		Want: Want{Retval: 50, Maps: map[string][]KV{"lengths": {at(0, le32(50)), at(1, le32(50)), at(2, le32(50))}}}})

	// tail_calls.o
	jmp := []KV{at(0, []byte("handle_ipv4")), at(1, []byte("handle_ipv6")), at(3, []byte("xdp_chain")), at(4, []byte("handle_sub"))}
	tail := func(name, prog string, data []byte, ret uint32, hits []KV) {
		add(Case{Name: "tail_calls/" + prog + "/" + name, Object: progs + "tail_calls.o", Program: prog, Type: ebpf.XDP,
			Data: data, Maps: []string{"hits", "jmp_table"},
			Want: Want{Retval: ret, Maps: map[string][]KV{"hits": hits, "jmp_table": jmp}}})
	}
	tail("tcp4", "xdp_dispatch", tcp4, xdpPass, []KV{at64(0, 1), at64(1, 1)})
	tail("tcp6", "xdp_dispatch", tcp6, xdpTX, []KV{at64(0, 1), at64(2, 1)})
	tail("arp_empty_slot", "xdp_dispatch", arp, xdpDrop, []KV{at64(0, 1), at64(7, 1)})
	tail("other", "xdp_dispatch", FrameOther(), xdpAborted, []KV{at64(0, 1)})
	tail("limit", "xdp_chain_entry", udp4, xdpPass, []KV{at64(3, 33)})
	tail("from_subprogram", "xdp_sub_tail", udp4, xdpTX, []KV{at64(4, 1), at64(6, 1)})

	// map_in_map.o
	mimMaps := []string{"inner_a", "inner_b", "inner_h", "outer_arr", "outer_hash"}
	outerArr := []KV{at(0, []byte("inner_a")), at(1, []byte("inner_b"))}
	outerHash := []KV{{le32(7), []byte("inner_h")}}
	add(Case{Name: "map_in_map/tc_mim/udp4_even_x2", Object: progs + "map_in_map.o", Program: "tc_mim", Type: ebpf.SchedCLS,
		Data: udp4, Repeat: 2, Maps: mimMaps,
		Want: Want{Retval: tcOK, Maps: map[string][]KV{
			"inner_a":   {at64(0, 2), at64(1, 100), at64(2, 2), at64(3, 2)},
			"inner_b":   nil,
			"inner_h":   {{le32(50), le64(2)}},
			"outer_arr": outerArr, "outer_hash": outerHash,
		}}})
	add(Case{Name: "map_in_map/tc_mim/tcp4_odd", Object: progs + "map_in_map.o", Program: "tc_mim", Type: ebpf.SchedCLS,
		Data: tcp4, Maps: mimMaps,
		Want: Want{Retval: tcOK, Maps: map[string][]KV{
			"inner_a":   {at64(2, 1), at64(3, 1)},
			"inner_b":   {at64(0, 1), at64(1, 59)},
			"inner_h":   {{le32(59), le64(1)}},
			"outer_arr": outerArr, "outer_hash": outerHash,
		}}})

	// bloom.o
	add(Case{Name: "bloom/xdp_bloom/udp4_x2", Object: progs + "bloom.o", Program: "xdp_bloom", Type: ebpf.XDP,
		Data: udp4, Repeat: 2, Maps: []string{"bloom_result"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{"bloom_result": {at64(0, 0), at64(1, 0), at64(2, 0), at64(3, eNOENT)}}}})
	add(Case{Name: "bloom/xdp_bloom/tcp4", Object: progs + "bloom.o", Program: "xdp_bloom", Type: ebpf.XDP,
		Data: tcp4, Maps: []string{"bloom_result"},
		Want: Want{Retval: xdpDrop, Maps: map[string][]KV{"bloom_result": {at64(0, eNOENT), at64(1, 0), at64(2, 0), at64(3, eNOENT)}}}})
	add(Case{Name: "bloom/xdp_bloom/arp", Object: progs + "bloom.o", Program: "xdp_bloom", Type: ebpf.XDP,
		Data: arp, Maps: []string{"bloom_result"},
		Want: Want{Retval: xdpAborted, Maps: map[string][]KV{"bloom_result": nil}}})
	add(Case{Name: "bloom/rtp_bloom/1234", Object: progs + "bloom.o", Program: "rtp_bloom", Type: ebpf.RawTracepoint,
		Context: args(1, 2, 3, 4), Maps: []string{"bloom_result"},
		Want: Want{Retval: 2, Maps: map[string][]KV{"bloom_result": {at64(4, 0), at64(5, 0), at64(6, eNOENT), at64(7, eNOENT)}}}})

	// spin_lock.o: struct locked {lock; pad; packets; bytes}.
	locked := func(p, n uint64) []byte { return cat(le32(0), le32(0), le64(p), le64(n)) }
	add(Case{Name: "spin_lock/xdp_locked/tcp4_x2", Object: progs + "spin_lock.o", Program: "xdp_locked", Type: ebpf.XDP,
		Data: tcp4, Repeat: 2, Maps: []string{"totals", "per_proto"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{
			"totals":    {at(0, locked(2, 118))},
			"per_proto": {{le32(EtherTypeIPv4), locked(2, 118)}},
		}}})
	add(Case{Name: "spin_lock/tc_locked/tcp6", Object: progs + "spin_lock.o", Program: "tc_locked", Type: ebpf.SchedCLS,
		Data: tcp6, Maps: []string{"totals", "per_proto"},
		Want: Want{Retval: tcOK, Maps: map[string][]KV{
			"totals":    {at(0, locked(1, 74))},
			"per_proto": {{le32(EtherTypeIPv6), locked(1, 74)}},
		}}})

	// loops.o: the first 8 bytes of every test frame are the destination
	// MAC 02:00:00:00:00:02 and the first two bytes of the source MAC 02:00.
	add(Case{Name: "loops/xdp_loops/tcp4", Object: progs + "loops.o", Program: "xdp_loops", Type: ebpf.XDP,
		Data: tcp4, Maps: []string{"loop_res", "fe_arr", "fe_hash"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{
			// [2]: the inlined bpf_loop sets the 32-bit -E2BIG.
			"loop_res": {at64(0, 11), at64(1, 385), at64(2, int64(uint32(0xfffffff9))), at64(3, eINVAL), at64(4, 6), at64(5, 8),
				at64(6, 3), at64(7, 602), at64(8, 2*1+2*6+2*7)},
			"fe_arr":  {at64(0, 4), at64(5, 4), at64(6, 2)},
			"fe_hash": {{le32(100), le64(2)}, {le32(200), le64(0)}, {le32(300), le64(0)}},
		}}})
	add(Case{Name: "loops/sock_loops/udp4", Object: progs + "loops.o", Program: "sock_loops", Type: ebpf.SocketFilter,
		Data: udp4, Maps: []string{"loop_res"},
		Want: Want{Retval: 0, Maps: map[string][]KV{"loop_res": {at64(9, 36)}}}})

	// nested_loops.o: the context is n (u32), seed (u32).
	add(Case{Name: "nested_loops/sys_nested_loops/n3", Object: progs + "nested_loops.o", Program: "sys_nested_loops", Type: ebpf.Syscall,
		Context: cat(le32(3), le32(5)), Maps: []string{"nl_res"},
		Want: Want{Retval: 0, Maps: map[string][]KV{"nl_res": {at64(0, 27)}}}})
	add(Case{Name: "nested_loops/sys_nested_loops/too_many", Object: progs + "nested_loops.o", Program: "sys_nested_loops", Type: ebpf.Syscall,
		Context: cat(le32(1<<23+1), le32(5)), Maps: []string{"nl_res"},
		Want: Want{Retval: 0, Maps: map[string][]KV{"nl_res": nil}}})
	add(Case{Name: "nested_loops/sys_bounded_loop/seed5", Object: progs + "nested_loops.o", Program: "sys_bounded_loop", Type: ebpf.Syscall,
		Context: cat(le32(0), le32(5)), Maps: []string{"nl_res"},
		Want: Want{Retval: 0, Maps: map[string][]KV{"nl_res": {at64(1, int64(BoundedLoop(5)))}}}})

	// strings.o
	const u64max = "18446744073709551615"
	add(Case{Name: "strings/sys_strings/waggle", Object: progs + "strings.o", Program: "sys_strings", Type: ebpf.Syscall,
		Context: strContext("waggle", -42, "", "", 0, 0, [3]int64{}, 0, false),
		Want: Want{Retval: 0, CtxOut: strContext("waggle", -42, "waggle--42-beef-7-"+u64max, "waggle-", 39, 39,
			[3]int64{0, 0, -1}, int64(len("waggle -42\n")), true)}})
	add(Case{Name: "strings/sys_strings/wagg", Object: progs + "strings.o", Program: "sys_strings", Type: ebpf.Syscall,
		Context: strContext("wagg", 7, "", "", 0, 0, [3]int64{}, 0, false),
		Want: Want{Retval: 0, CtxOut: strContext("wagg", 7, "wagg-7-beef-7-"+u64max, "wagg-7-", 35, 35,
			[3]int64{-1, 0, -1}, int64(len("waggle 7\n")), true)}})
	add(Case{Name: "strings/xdp_printk/udp4", Object: progs + "strings.o", Program: "xdp_printk", Type: ebpf.XDP,
		Data: udp4, Want: Want{Retval: xdpPass}})

	// probe_read.o
	src := []byte("kernel-string\x00\x00\x00")
	add(Case{Name: "probe_read/rtp_probe/addr16", Object: progs + "probe_read.o", Program: "rtp_probe", Type: ebpf.RawTracepoint,
		Context: args(16), Maps: []string{"probe_res", "probe_str"},
		Want: Want{Retval: 0, Maps: map[string][]KV{
			"probe_res": {at64(0, 0), at64(1, eRANGE), at64(2, 0), at64(3, eFAULT), at64(4, eFAULT), at64(5, 14),
				at64(6, 8), at64(7, eFAULT), at64(8, eRANGE), at64(9, eRANGE), at64(10, 1)},
			"probe_str": {at(0, src), at(1, []byte("kernel-\x00tring\x00\x00\x00")), at(2, make([]byte, 16))},
		}}})
	add(Case{Name: "probe_read/xdp_probe_kernel/udp4", Object: progs + "probe_read.o", Program: "xdp_probe_kernel", Type: ebpf.XDP,
		Data: udp4, Want: Want{Retval: 104}})
	add(Case{Name: "probe_read/sys_probe_kernel/none", Object: progs + "probe_read.o", Program: "sys_probe_kernel", Type: ebpf.Syscall,
		Want: Want{Retval: 104}})

	// time_random.o
	add(Case{Name: "time_random/xdp_time/udp4_x3", Object: progs + "time_random.o", Program: "xdp_time", Type: ebpf.XDP,
		Data: udp4, Repeat: 3, Maps: []string{"time_props"},
		Want: Want{Retval: 6, Maps: map[string][]KV{"time_props": {at64(0, 3), at64(1, 3), at64(2, 3), at64(3, 3), at64(4, 3), at64(5, 3)}}}})
	add(Case{Name: "time_random/sys_time/x2", Object: progs + "time_random.o", Program: "sys_time", Type: ebpf.Syscall,
		Repeat: 2, Maps: []string{"time_props"},
		Want: Want{Retval: 5, Maps: map[string][]KV{"time_props": {at64(0, 2), at64(1, 2), at64(3, 2), at64(4, 2), at64(5, 2)}}}})
	add(Case{Name: "time_random/rtp_time/x1", Object: progs + "time_random.o", Program: "rtp_time", Type: ebpf.RawTracepoint,
		Context: args(0), Maps: []string{"time_props"},
		Want: Want{Retval: 5, Maps: map[string][]KV{"time_props": {at64(0, 1), at64(1, 1), at64(3, 1), at64(4, 1), at64(5, 1)}}}})

	// current_task.o
	add(Case{Name: "current_task/rtp_task/40_2", Object: progs + "current_task.o", Program: "rtp_task", Type: ebpf.RawTracepoint,
		Context: args(40, 2), Maps: []string{"task_props"},
		Want: Want{Retval: 6, Maps: map[string][]KV{"task_props": {at64(0, 1), at64(1, 1), at64(2, 1), at64(3, 1), at64(4, 1), at64(5, 1), at64(6, 42)}}}})
	add(Case{Name: "current_task/sys_task/none", Object: progs + "current_task.o", Program: "sys_task", Type: ebpf.Syscall,
		Maps: []string{"task_props"},
		Want: Want{Retval: 1, Maps: map[string][]KV{"task_props": {at64(7, 1)}}}})
	add(Case{Name: "current_task/xdp_task/udp4", Object: progs + "current_task.o", Program: "xdp_task", Type: ebpf.XDP,
		Data: udp4, Want: Want{Retval: xdpPass}})

	// perf_output.o: magic 0x50455246.
	meta := func(n, typ uint32) []byte { return cat(le32(0x50455246), le32(n), le32(typ)) }
	add(Case{Name: "perf_output/xdp_perf/udp4", Object: progs + "perf_output.o", Program: "xdp_perf", Type: ebpf.XDP,
		Data: udp4, Maps: []string{"events", "perf_ret"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{"events": {at(0, cat(meta(50, 1), first(udp4, 16)))}, "perf_ret": nil}}})
	add(Case{Name: "perf_output/tc_perf/tcp4", Object: progs + "perf_output.o", Program: "tc_perf", Type: ebpf.SchedCLS,
		Data: tcp4, Maps: []string{"events", "perf_ret"},
		Want: Want{Retval: tcOK, Maps: map[string][]KV{"events": {at(0, cat(meta(59, 2), first(tcp4, 16)))}, "perf_ret": nil}}})
	add(Case{Name: "perf_output/sock_perf/udp4", Object: progs + "perf_output.o", Program: "sock_perf", Type: ebpf.SocketFilter,
		Data: udp4, Maps: []string{"events", "perf_ret"},
		Want: Want{Retval: 0, Maps: map[string][]KV{"events": {at(0, cat(meta(36, 3), first(udp4[14:], 16)))}, "perf_ret": nil}}})
	add(Case{Name: "perf_output/rtp_perf/args", Object: progs + "perf_output.o", Program: "rtp_perf", Type: ebpf.RawTracepoint,
		Context: args(0x0807060504030201, 9), Maps: []string{"events", "perf_ret"},
		Want: Want{Retval: 0, Maps: map[string][]KV{"events": {at(0, cat(le32(0x50455246), le32(4), le64(0x0807060504030201), le32(9)))}, "perf_ret": nil}}})
	add(Case{Name: "perf_output/xdp_perf/no_reader", Object: progs + "perf_output.o", Program: "xdp_perf", Type: ebpf.XDP,
		Data: udp4, Maps: []string{"perf_ret"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{"perf_ret": {at64(1, eNOENT)}}}})

	// skb_progs.o
	add(Case{Name: "skb_progs/tc_skb/udp4_ctx", Object: progs + "skb_progs.o", Program: "tc_skb", Type: ebpf.SchedCLS,
		Data: udp4, Context: skbContext(0x1234, 5, 7), Maps: []string{"skb_res"},
		Want: Want{Retval: tcOK, DataOut: udp4, Maps: map[string][]KV{"skb_res": {
			at64(0, 0), at(1, le64(0x0008)), at64(2, eFAULT), at64(3, 50), at64(4, 0x0008), at64(5, 0x1234),
			at64(6, 5), at64(7, 7), at64(8, 1), at64(9, byteSum(udp4[14:34]))}},
			Check: func(r *Result) error {
				if len(r.CtxOut) != 192 {
					return fmt.Errorf("ctx out has %d bytes, want 192", len(r.CtxOut))
				}
				mark := binary.LittleEndian.Uint32(r.CtxOut[8:])
				prio := binary.LittleEndian.Uint32(r.CtxOut[32:])
				cb0 := binary.LittleEndian.Uint32(r.CtxOut[48:])
				cb1 := binary.LittleEndian.Uint32(r.CtxOut[52:])
				if mark != 0x1234+50 || prio != 9 || cb0 != 7 || cb1 != 0xc0ffee {
					return fmt.Errorf("ctx out mark %#x priority %d cb[0] %d cb[1] %#x, want %#x 9 7 0xc0ffee", mark, prio, cb0, cb1, 0x1234+50)
				}
				return nil
			}}})
	add(Case{Name: "skb_progs/tc_skb/arp", Object: progs + "skb_progs.o", Program: "tc_skb", Type: ebpf.SchedCLS,
		Data: arp, Maps: []string{"skb_res"},
		Want: Want{Retval: tcShot, Maps: map[string][]KV{"skb_res": {
			at64(1, 0x0608), at64(2, eFAULT), at64(3, 42), at64(4, 0x0608), at64(8, 1)}}}})
	l3out := func(frame []byte) []byte { return cat(make([]byte, 14), frame[14:]) }
	add(Case{Name: "skb_progs/sock_skb/udp4", Object: progs + "skb_progs.o", Program: "sock_skb", Type: ebpf.SocketFilter,
		Data: udp4, Maps: []string{"skb_res"},
		Want: Want{Retval: 20, DataOut: l3out(udp4), Maps: map[string][]KV{"skb_res": {
			at64(10, 0x45), at64(11, 36), at64(12, ProtoUDP), at64(13, 0x0a010909), at64(14, 5353<<16|53)}}}})
	add(Case{Name: "skb_progs/sock_skb/tcp4", Object: progs + "skb_progs.o", Program: "sock_skb", Type: ebpf.SocketFilter,
		Data: tcp4, Maps: []string{"skb_res"},
		Want: Want{Retval: 45, Maps: map[string][]KV{"skb_res": {
			at64(10, 0x45), at64(11, 45), at64(12, ProtoTCP), at64(13, 0x0a010203), at64(14, 40000<<16|80)}}}})
	add(Case{Name: "skb_progs/sock_ldabs_oob/udp4", Object: progs + "skb_progs.o", Program: "sock_ldabs_oob", Type: ebpf.SocketFilter,
		Data: udp4, Maps: []string{"skb_res"},
		Want: Want{Retval: 0, Maps: map[string][]KV{"skb_res": {at64(15, 1)}}}})

	// xdp_adjust.o
	add(Case{Name: "xdp_adjust/xdp_vlan_push/tcp4", Object: progs + "xdp_adjust.o", Program: "xdp_vlan_push", Type: ebpf.XDP,
		Data: tcp4, Maps: []string{"adjust_res"},
		Want: Want{Retval: xdpTX, DataOut: vlan, Maps: map[string][]KV{"adjust_res": nil}}})
	add(Case{Name: "xdp_adjust/xdp_vlan_pop/vlan_tcp4", Object: progs + "xdp_adjust.o", Program: "xdp_vlan_pop", Type: ebpf.XDP,
		Data: vlan, Maps: []string{"adjust_res"},
		Want: Want{Retval: xdpPass, DataOut: tcp4, Maps: map[string][]KV{"adjust_res": nil}}})
	add(Case{Name: "xdp_adjust/xdp_vlan_pop/untagged", Object: progs + "xdp_adjust.o", Program: "xdp_vlan_pop", Type: ebpf.XDP,
		Data: tcp4, Maps: []string{"adjust_res"},
		Want: Want{Retval: xdpDrop, DataOut: tcp4, Maps: map[string][]KV{"adjust_res": nil}}})
	big := FrameBigUDP4()
	add(Case{Name: "xdp_adjust/xdp_tail/cut", Object: progs + "xdp_adjust.o", Program: "xdp_tail", Type: ebpf.XDP,
		Data: big, Maps: []string{"adjust_res"},
		Want: Want{Retval: xdpPass, DataOut: first(big, 64), Maps: map[string][]KV{"adjust_res": {at64(3, eINVAL)}}}})
	add(Case{Name: "xdp_adjust/xdp_tail/grow", Object: progs + "xdp_adjust.o", Program: "xdp_tail", Type: ebpf.XDP,
		Data: udp4, Maps: []string{"adjust_res"},
		Want: Want{Retval: xdpPass, DataOut: cat(udp4, make([]byte, 7), []byte{0xee}), Maps: map[string][]KV{"adjust_res": {at64(3, eINVAL)}}}})
	add(Case{Name: "xdp_adjust/xdp_meta/udp4", Object: progs + "xdp_adjust.o", Program: "xdp_meta", Type: ebpf.XDP,
		Data: udp4, Maps: []string{"adjust_res"},
		Want: Want{Retval: xdpPass, DataOut: cat(le64(0x1122334455667788), udp4), Maps: map[string][]KV{"adjust_res": {
			at64(4, eACCES), at64(5, eINVAL), at64(6, 0), at64(7, 1)}}}})

	// redirect.o
	add(Case{Name: "redirect/xdp_redirect/udp4", Object: progs + "redirect.o", Program: "xdp_redirect", Type: ebpf.XDP,
		Data: udp4, Maps: []string{"redirect_res"},
		Want: Want{Retval: xdpRedir, Maps: map[string][]KV{"redirect_res": {at64(0, xdpRedir), at64(1, xdpAborted)}}}})
	add(Case{Name: "redirect/xdp_redirect_map/empty", Object: progs + "redirect.o", Program: "xdp_redirect_map", Type: ebpf.XDP,
		Data: udp4, Maps: []string{"redirect_res"},
		Want: Want{Retval: xdpPass, Maps: map[string][]KV{"redirect_res": {at64(2, xdpPass), at64(3, xdpDrop)}}}})
	add(Case{Name: "redirect/xdp_redirect_map/loopback", Object: progs + "redirect.o", Program: "xdp_redirect_map", Type: ebpf.XDP,
		Data: udp4, Maps: []string{"redirect_res"}, Prefill: []MapEntry{{Map: "tx_ports", Key: le32(0), Value: le32(1)}},
		Want: Want{Retval: xdpRedir, Maps: map[string][]KV{"redirect_res": {at64(2, xdpRedir), at64(3, xdpDrop)}}}})
	add(Case{Name: "redirect/tc_redirect/udp4", Object: progs + "redirect.o", Program: "tc_redirect", Type: ebpf.SchedCLS,
		Data: udp4, Maps: []string{"redirect_res"},
		Want: Want{Retval: tcRedirect, Maps: map[string][]KV{"redirect_res": {at64(4, tcRedirect), at64(5, tcRedirect), at64(6, tcShot)}}}})

	// csum.o
	natted := Ethernet(MACDst, MACSrc, EtherTypeIPv4,
		IPv4(netip.MustParseAddr("192.0.2.1"), addrB, ProtoTCP, TCP(40000, 80, TCPSyn, []byte("hello"))))
	add(Case{Name: "csum/xdp_csum/tcp4", Object: progs + "csum.o", Program: "xdp_csum", Type: ebpf.XDP,
		Data: tcp4, Maps: []string{"csum_res"},
		Want: Want{Retval: xdpTX, DataOut: natted, Maps: map[string][]KV{"csum_res": {
			at64(0, 1), at64(1, int64(binary.LittleEndian.Uint16(natted[24:]))), at64(2, 1), at64(3, 0)}}}})
	add(Case{Name: "csum/tc_csum/udp4", Object: progs + "csum.o", Program: "tc_csum", Type: ebpf.SchedCLS,
		Data: udp4, Maps: []string{"csum_res"},
		Want: Want{Retval: tcOK, Maps: map[string][]KV{"csum_res": {at64(4, 1)}}}})
	bad := FrameUDP4()
	bad[24] ^= 0xff // corrupt the IPv4 header checksum
	add(Case{Name: "csum/tc_csum/bad_checksum", Object: progs + "csum.o", Program: "tc_csum", Type: ebpf.SchedCLS,
		Data: bad, Maps: []string{"csum_res"},
		Want: Want{Retval: tcShot, Maps: map[string][]KV{"csum_res": nil}}})

	// subprogs.o: the socket filter's skb->len is 50 - 14 = 36.
	l := int64(36)
	d1 := ((((l+1)*3 - 2) ^ 0x55) + 7) * 2
	add(Case{Name: "subprogs/sock_subprogs/udp4", Object: progs + "subprogs.o", Program: "sock_subprogs", Type: ebpf.SocketFilter,
		Data: udp4, Maps: []string{"sub_res"},
		Want: Want{Retval: uint32((l + 10 + d1 + l + l*l + 3*l + 1) & 0xffff), Maps: map[string][]KV{"sub_res": {
			at64(0, l+10), at64(1, d1), at64(2, l+l*l), at64(3, 3*l+1)}}}})
	add(Case{Name: "subprogs/xdp_subprogs/tcp4", Object: progs + "subprogs.o", Program: "xdp_subprogs", Type: ebpf.XDP,
		Data: tcp4, Want: Want{Retval: xdpPass}})

	cs = append(cs, cgroupSKBCases()...)
	cs = append(cs, exampleCases()...)
	return cs
}

func exampleCases() []Case {
	var cs []Case
	add := func(c Case) { cs = append(cs, c) }
	tcp4, udp4, icmp4 := FrameTCP4(), FrameUDP4(), FrameICMP4()

	pc := func(name string, data []byte, repeat int, proto int, packets, bytes uint64) {
		add(Case{Name: "examples/proto_count/" + name, Object: "examples/proto_count/proto_count.o", Program: "proto_count", Type: ebpf.XDP,
			Data: data, Repeat: repeat, Maps: []string{"proto_stats"},
			Want: Want{Retval: xdpPass, Maps: map[string][]KV{"proto_stats": {at(proto, stat(packets, bytes))}}}})
	}
	pc("tcp4_x3", tcp4, 3, ProtoTCP, 3, 3*59)
	pc("udp4", udp4, 1, ProtoUDP, 1, 50)
	pc("vlan_tcp4", FrameVLANTCP4(), 1, ProtoTCP, 1, 63)
	pc("icmp6", FrameICMP6(), 1, ProtoICMPv6, 1, 62)
	pc("arp", FrameARP(), 1, 255, 1, 42)
	pc("short_ipv4", FrameShortIPv4(), 1, 255, 1, 24)

	fwMaps := []string{"drop_counts"}
	blockA := MapEntry{Map: "blocked_addrs", Key: addr4("10.1.2.3"), Value: le32(1)}
	blockNet := MapEntry{Map: "blocked_nets", Key: lpmKey4(16, "10.1.0.0"), Value: le32(1)}
	fw := func(name string, data []byte, prefill []MapEntry, ret uint32, counts []KV) {
		add(Case{Name: "examples/firewall/" + name, Object: "examples/firewall/firewall.o", Program: "firewall", Type: ebpf.XDP,
			Data: data, Prefill: prefill, Maps: fwMaps,
			Want: Want{Retval: ret, Maps: map[string][]KV{"drop_counts": counts}}})
	}
	fw("empty_maps", tcp4, nil, xdpPass, []KV{at64(0, 1)})
	fw("blocked_addr", tcp4, []MapEntry{blockA, blockNet}, xdpDrop, []KV{at64(1, 1)})
	fw("blocked_net", udp4, []MapEntry{blockA, blockNet}, xdpDrop, []KV{at64(2, 1)})
	fw("passed", icmp4, []MapEntry{blockA, blockNet}, xdpPass, []KV{at64(0, 1)})
	fw("malformed", FrameShortIPv4(), nil, xdpDrop, []KV{at64(3, 1)})
	fw("not_ipv4", FrameARP(), []MapEntry{blockA}, xdpPass, nil)

	flowKey := func(src, dst string, sport, dport uint16, proto uint8) []byte {
		s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
		k := cat(s[:], d[:], binary.BigEndian.AppendUint16(nil, sport), binary.BigEndian.AppendUint16(nil, dport))
		return append(k, proto, 0, 0, 0)
	}
	fs := func(name string, data []byte, repeat int, flows, misc []KV) {
		add(Case{Name: "examples/flow_stats/" + name, Object: "examples/flow_stats/flow_stats.o", Program: "flow_stats", Type: ebpf.XDP,
			Data: data, Repeat: repeat, Maps: []string{"flows", "flow_misc"},
			Want: Want{Retval: xdpPass, Maps: map[string][]KV{"flows": flows, "flow_misc": misc}}})
	}
	fs("tcp4_x2", tcp4, 2, []KV{{Key: flowKey("10.1.2.3", "192.168.1.1", 40000, 80, ProtoTCP), Value: stat(2, 2*59)}}, nil)
	fs("vlan_tcp4", FrameVLANTCP4(), 1, []KV{{Key: flowKey("10.1.2.3", "192.168.1.1", 40000, 80, ProtoTCP), Value: stat(1, 63)}}, nil)
	fs("udp6", FrameUDP6(), 1, []KV{{Key: flowKey("2001:db8:ffff::5", "fd00::9", 5000, 6000, ProtoUDP), Value: stat(1, 66)}}, nil)
	fs("icmp4", icmp4, 1, nil, []KV{at64(1, 1)})
	fs("arp", FrameARP(), 1, nil, []KV{at64(0, 1)})
	fs("short_ipv4", FrameShortIPv4(), 1, nil, []KV{at64(2, 1)})

	event := func(saddr, daddr string, sport, dport uint16, proto uint8, n uint32) []byte {
		s, d := make([]byte, 4), make([]byte, 4)
		if saddr != "" {
			s, d = addr4(saddr), addr4(daddr)
		}
		return cat(s, d, le16(sport), le16(dport), []byte{proto, 0, 0, 0}, le32(n))
	}
	rb := func(name string, data []byte, repeat int, events []KV) {
		add(Case{Name: "examples/ringbuf_events/" + name, Object: "examples/ringbuf_events/ringbuf_events.o", Program: "ringbuf_events", Type: ebpf.XDP,
			Data: data, Repeat: repeat, Maps: []string{"events"},
			Want: Want{Retval: xdpPass, Maps: map[string][]KV{"events": events}}})
	}
	tcpEv := event("10.1.2.3", "192.168.1.1", 40000, 80, ProtoTCP, 59)
	rb("tcp4_x2", tcp4, 2, []KV{at(0, tcpEv), at(1, tcpEv)})
	rb("udp4", udp4, 1, []KV{at(0, event("10.1.9.9", "10.0.0.1", 5353, 53, ProtoUDP, 50))})
	rb("icmp4", icmp4, 1, []KV{at(0, event("192.168.7.7", "10.1.2.3", 0, 0, ProtoICMP, 58))})
	rb("arp", FrameARP(), 1, []KV{at(0, event("", "", 0, 0, 0, 42))})

	handlers := []KV{at(ProtoICMP, []byte("handle_icmp")), at(ProtoTCP, []byte("handle_tcp")), at(ProtoUDP, []byte("handle_udp"))}
	tc := func(name string, data []byte, ret uint32, idx int) {
		add(Case{Name: "examples/tail_calls/" + name, Object: "examples/tail_calls/tail_calls.o", Program: "dispatcher", Type: ebpf.XDP,
			Data: data, Maps: []string{"counts", "handlers"},
			Want: Want{Retval: ret, Maps: map[string][]KV{"counts": {at64(idx, 1)}, "handlers": handlers}}})
	}
	tc("tcp4", tcp4, xdpPass, 0)
	tc("udp4", udp4, xdpPass, 1)
	tc("icmp4", icmp4, xdpDrop, 2)
	tc("arp", FrameARP(), xdpPass, 3)
	tc("tcp6", FrameTCP6(), xdpPass, 3)
	return cs
}

// BoundedLoop is what sys_bounded_loop of nested_loops.o computes from
// seed.
func BoundedLoop(seed uint32) uint32 {
	h := seed
	for i := range uint32(20000) {
		h = (h ^ i) * 16777619
	}
	return h
}
