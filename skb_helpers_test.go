package waggle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/jit"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// The skb helpers against the kernel: testdata/skb/skb_helpers.o runs a
// script of helper calls (testdata/skb/cases.txt, every combination of
// the arguments each line lists) and both runtimes must agree on the
// return value, the output packet, ctx_out and what the program recorded
// (each call's result and the skb's fields afterwards).

const skbHelpersObject = "testdata/skb/skb_helpers.o"

// skbOps are skb_helpers.c's operations, by the names cases.txt uses.
var skbOps = map[string]uint64{
	"store_bytes": 1, "l3_csum": 2, "l4_csum": 3, "csum_level": 4, "pull_data": 5,
	"change_tail": 6, "change_head": 7, "adjust_room": 8, "change_type": 9, "change_proto": 10,
	"vlan_push": 11, "vlan_pop": 12, "hash_recalc": 13, "set_hash": 14, "hash_invalid": 15,
	"set_tunnel_key": 16, "get_tunnel_key": 17, "set_tunnel_opt": 18, "get_tunnel_opt": 19,
	"load_relative": 20, "cgroup_id": 21, "netns_cookie": 22, "cgroup_classid": 23,
	"redirect_neigh": 24, "redirect_peer": 25, "socket_cookie": 26, "csum_diff": 27,
	"fib_lookup": 28, "clone_redirect": 29, "sk_lookup": 30,
	"csum_update": 31, "route_realm": 32, "socket_uid": 33, "skb_classid": 34, "ancestor_cgroup": 35,
	"ecn_set_ce": 36, "xdp_buff_len": 37, "xdp_load": 38, "xdp_store": 39,
}

const opHashRecalc = 13

// skbPackets are the packets cases.txt names.
var skbPackets = map[string]func() []byte{
	"tcp4": kerneltest.FrameTCP4, "udp4": kerneltest.FrameUDP4, "tcp6": kerneltest.FrameTCP6,
	"udp6": kerneltest.FrameUDP6, "vlan4": kerneltest.FrameVLANTCP4, "arp": kerneltest.FrameARP,
	"icmp4": kerneltest.FrameICMP4, "other": kerneltest.FrameOther, "minimal": kerneltest.FrameMinimal,
	"big": kerneltest.FrameBigUDP4, "jumbo": frameJumbo,
	"ect4": func() []byte { return withTOS(kerneltest.FrameUDP4(), 0x02) },
	"ce4":  func() []byte { return withTOS(kerneltest.FrameUDP4(), 0x03) },
	"ect6": func() []byte { return withTOS(kerneltest.FrameUDP6(), 0x01) },
	"ce6":  func() []byte { return withTOS(kerneltest.FrameUDP6(), 0x03) },
}

// frameJumbo is a 9014-byte UDP frame, larger than a page: an XDP test
// run puts its tail in frags.
func frameJumbo() []byte {
	return kerneltest.Ethernet(kerneltest.MACDst, kerneltest.MACSrc, kerneltest.EtherTypeIPv4,
		kerneltest.IPv4(netip.MustParseAddr("10.1.9.9"), netip.MustParseAddr("10.0.0.1"), kerneltest.ProtoUDP,
			kerneltest.UDP(5353, 53, kerneltest.Pattern(8972))))
}

// withTOS sets the ECN bits of a frame's IPv4 TOS (fixing the header
// checksum) or IPv6 traffic class.
func withTOS(f []byte, ecn byte) []byte {
	ip := f[14:]
	if ip[0]>>4 == 4 {
		ip[1] = ip[1]&^3 | ecn
		binary.BigEndian.PutUint16(ip[10:], 0)
		binary.BigEndian.PutUint16(ip[10:], kerneltest.Checksum(ip[:20]))
		return f
	}
	w := binary.BigEndian.Uint32(ip)
	binary.BigEndian.PutUint32(ip, w&^(3<<20)|uint32(ecn)<<20)
	return f
}

// skbCase is one expanded line of cases.txt.
type skbCase struct {
	name   string // the line's name, packet and arguments
	line   int
	packet string
	gso    bool
	xdp    bool // run xdp_script (PACKET@xdp) instead of skb_script
	ops    [][5]uint64
}

// script is the value of the script map.
func (c *skbCase) script() []byte {
	b := make([]byte, 4*5*8)
	for i, op := range c.ops {
		for j, v := range op {
			binary.NativeEndian.PutUint64(b[(i*5+j)*8:], v)
		}
	}
	return b
}

// input is the packet and the __sk_buff of ctx_in: mark 7, and for +gso
// gso_segs 3 and gso_size 1400; XDP runs have no ctx_in.
func (c *skbCase) input() (data, ctx []byte) {
	if c.xdp {
		return skbPackets[c.packet](), nil
	}
	ctx = make([]byte, 192)
	binary.NativeEndian.PutUint32(ctx[8:], 7)
	if c.gso {
		binary.NativeEndian.PutUint32(ctx[164:], 3)
		binary.NativeEndian.PutUint32(ctx[176:], 1400)
	}
	return skbPackets[c.packet](), ctx
}

// expandToken returns every spelling of a token whose {a,b,...} groups
// each stand for one of their values.
func expandToken(tok string) []string {
	i := strings.IndexByte(tok, '{')
	if i < 0 {
		return []string{tok}
	}
	j := strings.IndexByte(tok[i:], '}')
	if j < 0 {
		return []string{tok}
	}
	var out []string
	for _, alt := range strings.Split(tok[i+1:i+j], ",") {
		for _, rest := range expandToken(tok[i+j+1:]) {
			out = append(out, tok[:i]+alt+rest)
		}
	}
	return out
}

// expand returns every combination of the alternatives of fields.
func expand(fields []string) [][]string {
	out := [][]string{nil}
	for _, f := range fields {
		alts := expandToken(f)
		var next [][]string
		for _, o := range out {
			for _, a := range alts {
				next = append(next, append(append([]string(nil), o...), a))
			}
		}
		out = next
	}
	return out
}

func parseNumber(s string) (uint64, error) {
	if strings.HasPrefix(s, "-") {
		v, err := strconv.ParseInt(s, 0, 64)
		return uint64(v), err
	}
	return strconv.ParseUint(s, 0, 64)
}

// parseArg reads an argument: a sum of terms (a+b), each a number (Go
// syntax; negative ones are 64-bit), an IPv4 address (its host-order
// value), or a name of vars, optionally shifted (x<<n).
func parseArg(s string, vars map[string]uint64) (uint64, error) {
	var sum uint64
	for _, term := range strings.Split(s, "+") {
		base, shift, shifted := strings.Cut(term, "<<")
		var v uint64
		var err error
		if x, ok := vars[base]; ok {
			v = x
		} else if a, perr := netip.ParseAddr(base); perr == nil && a.Is4() {
			b := a.As4()
			v = uint64(binary.BigEndian.Uint32(b[:]))
		} else if v, err = parseNumber(base); err != nil {
			return 0, err
		}
		if shifted {
			n, err := strconv.ParseUint(shift, 0, 6)
			if err != nil {
				return 0, err
			}
			v <<= n
		}
		sum += v
	}
	return sum, nil
}

// loadSkbCases reads and expands cases.txt.
func loadSkbCases(t *testing.T) []skbCase {
	cases, _ := loadSkbFile(t, "testdata/skb/cases.txt", nil, nil)
	return cases
}

// loadSkbFile reads and expands a file of cases, with vars for the names
// its arguments use; the lines whose first word is one of setup are
// returned, without it, instead.
func loadSkbFile(t *testing.T, path string, vars map[string]uint64, setup map[string]bool) ([]skbCase, [][]string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []skbCase
	var setups [][]string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(strings.ReplaceAll(text, ";", " ; "))
		if setup[fields[0]] {
			setups = append(setups, fields)
			continue
		}
		if len(fields) < 3 {
			t.Fatalf("%s:%d: want NAME PACKET OP ..., have %q", path, line, text)
		}
		for _, combo := range expand(fields[1:]) {
			c := skbCase{name: fields[0] + "/" + strings.Join(combo, " "), line: line}
			pkt, xdp := strings.CutSuffix(combo[0], "@xdp")
			pkt, gso := strings.CutSuffix(pkt, "+gso")
			if skbPackets[pkt] == nil {
				t.Fatalf("%s:%d: unknown packet %q", path, line, combo[0])
			}
			c.packet, c.gso, c.xdp = pkt, gso, xdp
			var op []string
			flush := func() {
				if len(op) == 0 {
					t.Fatalf("%s:%d: an empty operation", path, line)
				}
				id, ok := skbOps[op[0]]
				if !ok || len(op) > 5 {
					t.Fatalf("%s:%d: unknown operation or more than 4 arguments: %q", path, line, op)
				}
				var o [5]uint64
				o[0] = id
				for i, a := range op[1:] {
					v, err := parseArg(a, vars)
					if err != nil {
						t.Fatalf("%s:%d: argument %q: %v", path, line, a, err)
					}
					o[i+1] = v
				}
				c.ops = append(c.ops, o)
				op = nil
			}
			for _, w := range combo[1:] {
				if w == ";" {
					flush()
					continue
				}
				op = append(op, w)
			}
			flush()
			if len(c.ops) > 4 {
				t.Fatalf("%s:%d: more than 4 operations", path, line)
			}
			cases = append(cases, c)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases, setups
}

// skbResult is what a run gave, reduced where the kernel's values are its
// own: bpf_get_hash_recalc's result becomes 1 when non-zero (0 stays 0)
// and skb->hash, when it equals the result of the last such call, the
// marker 0xfeed.
type skbResult struct {
	retval  uint32
	dataOut []byte
	ctxOut  []byte
	out     []byte
}

func (r *skbResult) reduce(c *skbCase) {
	var last uint64
	recalc := false
	for i, op := range c.ops {
		if op[0] != opHashRecalc {
			continue
		}
		v := binary.NativeEndian.Uint64(r.out[8*i:])
		last, recalc = v, true
		if v != 0 {
			binary.NativeEndian.PutUint64(r.out[8*i:], 1)
		}
		if i == len(c.ops)-1 && v != 0 {
			r.retval = 1
		}
	}
	if recalc && last != 0 && binary.NativeEndian.Uint32(r.out[44:]) == uint32(last) {
		binary.NativeEndian.PutUint32(r.out[44:], 0xfeed)
	}
}

func (r *skbResult) diff(want *skbResult) string {
	var d []string
	if r.retval != want.retval {
		d = append(d, fmt.Sprintf("return value: waggle %#x, kernel %#x", r.retval, want.retval))
	}
	if !bytes.Equal(r.dataOut, want.dataOut) {
		d = append(d, fmt.Sprintf("data out:\n  waggle %x\n  kernel %x", r.dataOut, want.dataOut))
	}
	if !bytes.Equal(r.ctxOut, want.ctxOut) {
		d = append(d, fmt.Sprintf("ctx out:\n  waggle %x\n  kernel %x", r.ctxOut, want.ctxOut))
	}
	if !bytes.Equal(r.out, want.out) {
		d = append(d, fmt.Sprintf("out (ret[4] i64, len, protocol, pkt_type, hash, vlan_present, vlan_tci, vlan_proto, mark, buf):\n  waggle %x\n  kernel %x", r.out, want.out))
	}
	return strings.Join(d, "\n")
}

// skbRunner runs cases in one runtime.
type skbRunner interface {
	run(c *skbCase) (*skbResult, error)
}

type waggleSkb struct {
	prog, xdp   *Program
	script, out *Map
	fib         *FIB   // RunOptions.FIB
	dataOut     []byte // reused: room for the largest skb (4 MiB)
}

func newWaggleSkb(t testing.TB, engine Engine) *waggleSkb {
	spec, err := LoadCollectionSpec(skbHelpersObject)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := NewCollectionWithOptions(spec, CollectionOptions{CPUs: 1, Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { coll.Close() })
	return &waggleSkb{prog: coll.Programs["skb_script"], xdp: coll.Programs["xdp_script"], script: coll.Maps["script"], out: coll.Maps["out"]}
}

func (w *waggleSkb) run(c *skbCase) (*skbResult, error) {
	zero := make([]byte, 4)
	if err := w.script.Put(zero, c.script()); err != nil {
		return nil, err
	}
	if err := w.out.Put(zero, make([]byte, w.out.ValueSize())); err != nil {
		return nil, err
	}
	data, ctx := c.input()
	var ctxOut []byte
	if w.dataOut == nil {
		w.dataOut = make([]byte, 4<<20)
	}
	opts := &RunOptions{Data: data, DataOut: w.dataOut, FIB: w.fib}
	if ctx != nil {
		ctxOut = make([]byte, len(ctx))
		opts.Context, opts.ContextOut = ctx, ctxOut
	}
	prog := w.prog
	if c.xdp {
		prog = w.xdp
	}
	res, err := prog.Run(opts)
	if err != nil {
		return nil, err
	}
	out := make([]byte, w.out.ValueSize())
	if err := w.out.Lookup(zero, &out); err != nil {
		return nil, err
	}
	r := &skbResult{retval: res, dataOut: opts.DataOut, ctxOut: ctxOut, out: out}
	r.reduce(c)
	return r, nil
}

type kernelSkb struct {
	prog, xdp   *ebpf.Program
	script, out *ebpf.Map
}

func newKernelSkb(t *testing.T) *kernelSkb {
	if err := kerneltest.Available(); err != nil {
		t.Skipf("the kernel cannot run the programs here: %v", err)
	}
	spec, err := ebpf.LoadCollectionSpec(skbHelpersObject)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := kerneltest.LoadCollection(spec, ebpf.CollectionOptions{}, "skb_script", "script", "out")
	if err == nil && coll.Programs["xdp_script"] == nil {
		coll.Close()
		err = fmt.Errorf("the kernel did not load xdp_script")
	}
	if err != nil {
		kerneltest.SkipIfUnsupported(t, err)
		t.Fatalf("kernel: %v", err)
	}
	t.Cleanup(func() { coll.Close() })
	return &kernelSkb{prog: coll.Programs["skb_script"], xdp: coll.Programs["xdp_script"], script: coll.Maps["script"], out: coll.Maps["out"]}
}

func (k *kernelSkb) run(c *skbCase) (*skbResult, error) {
	zero := uint32(0)
	if err := k.script.Put(zero, c.script()); err != nil {
		return nil, err
	}
	if err := k.out.Put(zero, make([]byte, k.out.ValueSize())); err != nil {
		return nil, err
	}
	data, ctx := c.input()
	opts := &ebpf.RunOptions{Data: data, DataOut: make([]byte, len(data)+32768)}
	if ctx != nil {
		opts.Context, opts.ContextOut = ctx, make([]byte, len(ctx))
	}
	prog := k.prog
	if c.xdp {
		prog = k.xdp
	}
	ret, err := prog.Run(opts)
	if err != nil {
		return nil, err
	}
	out := make([]byte, k.out.ValueSize())
	if err := k.out.Lookup(zero, &out); err != nil {
		return nil, err
	}
	ctxOut, _ := opts.ContextOut.([]byte)
	r := &skbResult{retval: ret, dataOut: opts.DataOut, ctxOut: ctxOut, out: out}
	r.reduce(c)
	return r, nil
}

var updateSkbKernel = flag.Bool("update-skb-kernel", false, "rewrite testdata/skb/kernel.txt with the kernel's results of cases.txt (needs root)")

const skbKernelFile = "testdata/skb/kernel.txt"

// hostDependent reports whether a case's results depend on the host
// (its cgroup, its network namespace) rather than on the helpers alone:
// such cases are compared with the live kernel only.
func (c *skbCase) hostDependent() bool {
	for _, op := range c.ops {
		if op[0] == skbOps["cgroup_id"] || op[0] == skbOps["netns_cookie"] {
			return true
		}
	}
	return false
}

// skbDigests hashes the results of the cases of each line of cases.txt
// (in order) into one digest per line: "LINE NAME DIGEST".
type skbDigests struct {
	lines []int
	names map[int]string
	h     map[int]hash.Hash
}

func newSkbDigests() *skbDigests {
	return &skbDigests{names: map[int]string{}, h: map[int]hash.Hash{}}
}

func (d *skbDigests) add(c *skbCase, r *skbResult) {
	if c.hostDependent() {
		return
	}
	h := d.h[c.line]
	if h == nil {
		h = sha256.New()
		d.h[c.line] = h
		d.lines = append(d.lines, c.line)
		d.names[c.line], _, _ = strings.Cut(c.name, "/")
	}
	fmt.Fprintf(h, "%s\n%d %x %x %x\n", c.name, r.retval, r.dataOut, r.ctxOut, r.out)
}

func (d *skbDigests) String() string {
	var b strings.Builder
	b.WriteString("# The kernel's results of cases.txt, a SHA-256 of each line's cases in order:\n# LINE NAME DIGEST. go test -run TestSkbHelpersAgainstKernel -update-skb-kernel (as root) rewrites it.\n")
	for _, l := range d.lines {
		fmt.Fprintf(&b, "%d %s %x\n", l, d.names[l], d.h[l].Sum(nil))
	}
	return b.String()
}

// TestSkbHelpersAgainstKernel runs every case of testdata/skb/cases.txt
// in the kernel and in waggle with both engines; with -update-skb-kernel
// it records the kernel's results in testdata/skb/kernel.txt, which
// TestSkbHelperCases checks without the kernel.
func TestSkbHelpersAgainstKernel(t *testing.T) {
	if _, err := os.Stat(filepath.FromSlash(skbHelpersObject)); err != nil {
		t.Fatal(err)
	}
	cases := loadSkbCases(t)
	kernel := newKernelSkb(t)
	runners := map[Engine]skbRunner{}
	for _, e := range skbEngines(t) {
		runners[e] = newWaggleSkb(t, e)
	}
	digests := compareSkb(t, "cases.txt", cases, kernel, runners)
	if *updateSkbKernel {
		if err := os.WriteFile(skbKernelFile, []byte(digests.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// skbEngines are the engines that run here: the JIT only where it is
// supported.
func skbEngines(t *testing.T) []Engine {
	if jit.Supported {
		return engines
	}
	t.Logf("the interpreter only: %s", jit.Unsupported)
	return []Engine{EngineInterpreter}
}

// compareSkb runs every case in the kernel and in each of runners, and
// returns the digests of the kernel's results.
func compareSkb(t *testing.T, file string, cases []skbCase, kernel skbRunner, runners map[Engine]skbRunner) *skbDigests {
	t.Helper()
	digests := newSkbDigests()
	compared := 0
	for i := range cases {
		c := &cases[i]
		want, err := kernel.run(c)
		if err != nil {
			t.Fatalf("%s:%d %s: kernel: %v", file, c.line, c.name, err)
		}
		digests.add(c, want)
		for _, e := range engines {
			if runners[e] == nil {
				continue
			}
			got, err := runners[e].run(c)
			if err != nil {
				t.Errorf("%s:%d %s (%s): waggle: %v", file, c.line, c.name, e, err)
				continue
			}
			if d := got.diff(want); d != "" {
				t.Errorf("%s:%d %s (%s):\n%s", file, c.line, c.name, e, d)
			}
		}
		compared++
	}
	t.Logf("%d cases (argument and flag combinations) of %s compared with the kernel on %d engines", compared, file, len(runners))
	return digests
}

// TestSkbHelperCases runs every case in waggle without the kernel: both
// engines must agree, and give the results the kernel gave when
// testdata/skb/kernel.txt was recorded.
func TestSkbHelperCases(t *testing.T) {
	cases := loadSkbCases(t)
	interp := newWaggleSkb(t, EngineInterpreter)
	var compiled *waggleSkb // nil where there is no JIT: the interpreter alone is checked
	if jit.Supported {
		compiled = newWaggleSkb(t, EngineJIT)
	} else {
		t.Logf("the interpreter only: %s", jit.Unsupported)
	}
	digests := newSkbDigests()
	for i := range cases {
		c := &cases[i]
		a, err := interp.run(c)
		if err != nil {
			t.Fatalf("cases.txt:%d %s: %v", c.line, c.name, err)
		}
		if compiled != nil {
			b, err := compiled.run(c)
			if err != nil {
				t.Fatalf("cases.txt:%d %s (JIT): %v", c.line, c.name, err)
			}
			if d := b.diff(a); d != "" {
				t.Errorf("cases.txt:%d %s: the engines differ (\"waggle\" is the JIT, \"kernel\" the interpreter):\n%s", c.line, c.name, d)
			}
		}
		digests.add(c, a)
	}
	if len(cases) == 0 {
		t.Fatal(errors.New("cases.txt has no cases"))
	}
	recorded, err := os.ReadFile(skbKernelFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, l := range strings.Split(string(recorded), "\n") {
		if f := strings.Fields(l); len(f) == 3 && !strings.HasPrefix(l, "#") {
			want[f[0]] = f[2]
		}
	}
	for _, l := range strings.Split(digests.String(), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || strings.HasPrefix(l, "#") {
			continue
		}
		switch w, ok := want[f[0]]; {
		case !ok:
			t.Errorf("cases.txt:%s %s: no kernel results recorded in %s (run TestSkbHelpersAgainstKernel -update-skb-kernel as root)", f[0], f[1], skbKernelFile)
		case w != f[2]:
			t.Errorf("cases.txt:%s %s: waggle's results differ from the kernel's recorded in %s (run TestSkbHelpersAgainstKernel as root to see how)", f[0], f[1], skbKernelFile)
		}
	}
}

// TestRunTunnel: RunOptions.Tunnel is what bpf_skb_get_tunnel_key and
// bpf_skb_get_tunnel_opt read (remote is the tunnel's source, local its
// destination, as for a packet a tunnel device received), and
// RunResult.Tunnel what bpf_skb_set_tunnel_key and bpf_skb_set_tunnel_opt
// set (the remote end as destination).
func TestRunTunnel(t *testing.T) {
	w := newWaggleSkb(t, EngineInterpreter)
	in := &TunnelKey{ID: 0x1_0000_0042, Src: netip.MustParseAddr("192.0.2.7"), Dst: netip.MustParseAddr("198.51.100.9"),
		TOS: 4, TTL: 61, Flags: 0x1004 | 0x0800, Options: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	run := func(c *skbCase, tunnel *TunnelKey) ([]byte, RunResult) {
		t.Helper()
		zero := make([]byte, 4)
		if err := w.script.Put(zero, c.script()); err != nil {
			t.Fatal(err)
		}
		data, ctx := c.input()
		var res RunResult
		_, err := w.prog.Run(&RunOptions{Data: data, Context: ctx, Tunnel: tunnel, Result: &res})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, w.out.ValueSize())
		if err := w.out.Lookup(zero, &out); err != nil {
			t.Fatal(err)
		}
		return out, res
	}
	get := &skbCase{packet: "tcp4", ops: [][5]uint64{{skbOps["get_tunnel_key"], 44, 0x10}}}
	out, res := run(get, in)
	ret, buf := int64(binary.NativeEndian.Uint64(out[0:])), out[64:]
	if ret != 0 {
		t.Fatalf("get_tunnel_key: %d", ret)
	}
	if id := binary.NativeEndian.Uint32(buf[0:]); id != 0x42 {
		t.Errorf("tunnel_id %#x, want the ID's low 32 bits 0x42", id)
	}
	if remote := binary.NativeEndian.Uint32(buf[4:]); remote != 0xc0000207 {
		t.Errorf("remote_ipv4 %#x, want the source 192.0.2.7", remote)
	}
	if local := binary.NativeEndian.Uint32(buf[28:]); local != 0xc6336409 {
		t.Errorf("local_ipv4 %#x, want the destination 198.51.100.9", local)
	}
	if buf[20] != 4 || buf[21] != 61 || binary.BigEndian.Uint16(buf[22:]) != in.Flags {
		t.Errorf("tos %d ttl %d flags %#x", buf[20], buf[21], binary.BigEndian.Uint16(buf[22:]))
	}
	if res.Tunnel == nil || res.Tunnel.TX || res.Tunnel.Dst != in.Dst {
		t.Errorf("RunResult.Tunnel = %+v, want the input's", res.Tunnel)
	}
	opt := &skbCase{packet: "tcp4", ops: [][5]uint64{{skbOps["get_tunnel_opt"], 12}}}
	out, _ = run(opt, in)
	if n := int64(binary.NativeEndian.Uint64(out[0:])); n != 8 || !bytes.Equal(out[64:76], []byte{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0}) {
		t.Errorf("get_tunnel_opt: %d, %x", n, out[64:76])
	}
	if out, _ = run(get, nil); int64(binary.NativeEndian.Uint64(out[0:])) != -22 {
		t.Errorf("get_tunnel_key without a tunnel: %d, want -EINVAL", int64(binary.NativeEndian.Uint64(out[0:])))
	}
	set := &skbCase{packet: "tcp4", ops: [][5]uint64{{skbOps["set_tunnel_key"], 44, 0, 0x0000_3f05_0000_0077}, {skbOps["set_tunnel_opt"], 4}}}
	out, res = run(set, in)
	if binary.NativeEndian.Uint64(out[0:]) != 0 || binary.NativeEndian.Uint64(out[8:]) != 0 {
		t.Fatalf("set_tunnel_key, set_tunnel_opt: %x", out[:16])
	}
	want := TunnelKey{ID: 0x77, Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1"), TOS: 5, TTL: 0x3f,
		Flags: 0x2000 | 0x0001 | 0x0004 | 0x0800 | 0x1000 | 0x4000 | 0x8000, Options: []byte{0xb0, 0xb1, 0xb2, 0xb3}, TX: true}
	if res.Tunnel == nil || fmt.Sprint(*res.Tunnel) != fmt.Sprint(want) {
		t.Errorf("RunResult.Tunnel = %+v, want %+v", res.Tunnel, want)
	}
}

// FuzzSkbScript runs scripts of random helper calls with random arguments
// on random packets: waggle must never fail or crash, and both engines
// must agree.
func FuzzSkbScript(f *testing.F) {
	f.Add([]byte{6, 0, 0, 0, 0, 0, 0, 0, 0x40}, uint8(0))
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}, uint8(1))
	f.Add([]byte{11, 0, 0, 0, 0, 0, 0, 0, 0, 0x81}, uint8(4))
	names := []string{"tcp4", "udp4", "tcp6", "udp6", "vlan4", "arp", "icmp4", "other", "minimal", "ect4", "ce6", "big"}
	interp := newWaggleSkb(f, EngineInterpreter)
	var compiled *waggleSkb // nil where there is no JIT: the interpreter alone runs
	if jit.Supported {
		compiled = newWaggleSkb(f, EngineJIT)
	}
	f.Fuzz(func(t *testing.T, b []byte, pkt uint8) {
		c := &skbCase{name: "fuzz", packet: names[int(pkt)%len(names)], gso: pkt&0x80 != 0, xdp: pkt&0x40 != 0}
		if c.xdp && pkt&0x20 != 0 {
			c.packet = "jumbo" // multi-buffer: XDP only (an skb test run takes at most 3712 bytes)
		}
		for i := 0; i < 4 && len(b) > 0; i++ {
			var op [5]uint64
			for j := range op {
				var w [8]byte
				n := copy(w[:], b)
				b = b[n:]
				op[j] = binary.LittleEndian.Uint64(w[:])
			}
			op[0] %= uint64(len(skbOps) + 1)
			c.ops = append(c.ops, op)
		}
		a, err := interp.run(c)
		if err != nil {
			t.Fatalf("%v: %v", c.ops, err)
		}
		if compiled == nil {
			return
		}
		j, err := compiled.run(c)
		if err != nil {
			t.Fatalf("%v (JIT): %v", c.ops, err)
		}
		if d := j.diff(a); d != "" {
			t.Errorf("%v: the engines differ (\"waggle\" is the JIT, \"kernel\" the interpreter):\n%s", c.ops, d)
		}
	})
}

// TestGlobalFunctionMovesPacket: a global function that may move the
// packet (through a static function that calls bpf_skb_change_head), and
// a tail call from a subprogram, invalidate the caller's packet pointers:
// testdata/skb/global_pull.o's stale and tail_in_sub are refused, fresh
// and tail_direct accepted, by waggle and by the kernel.
func TestGlobalFunctionMovesPacket(t *testing.T) {
	const obj = "testdata/skb/global_pull.o"
	for _, tc := range []struct {
		prog   string
		accept bool
	}{{"stale", false}, {"fresh", true}, {"tail_in_sub", false}, {"tail_direct", true}} {
		spec, err := LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		for name := range spec.Programs {
			if name != tc.prog {
				delete(spec.Programs, name)
			}
		}
		coll, err := NewCollection(spec)
		if err == nil {
			coll.Close()
		}
		if (err == nil) != tc.accept {
			t.Errorf("%s: waggle accepted %v (%v), want %v", tc.prog, err == nil, err, tc.accept)
		}
		if !tc.accept && err != nil && !strings.Contains(err.Error(), "not a pointer") {
			t.Errorf("%s: %v, want the read through the stale pointer refused", tc.prog, err)
		}
		if kerneltest.Available() != nil {
			continue
		}
		kspec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		for name := range kspec.Programs {
			if name != tc.prog {
				delete(kspec.Programs, name)
			}
		}
		kcoll, kerr := ebpf.NewCollection(kspec)
		if kerr == nil {
			kcoll.Close()
		}
		if (kerr == nil) != tc.accept {
			t.Errorf("%s: the kernel accepted %v (%v), want %v", tc.prog, kerr == nil, kerr, tc.accept)
		}
	}
}
