package metrics_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/metrics"
)

// udpFrame builds an Ethernet IPv4 UDP frame with a valid IP checksum.
func udpFrame(src, dst string, sport, dport uint16, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(f[6:12], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8], ip[9] = 64, 17
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	copy(udp[8:], payload)
	return f
}

// observed loads testdata/live/live.o and runs xdp_observe on frames:
// three of flow 10.0.0.1 → 10.0.0.2:9000 (60 bytes), one of 10.0.0.3 →
// 10.0.0.2:53 (100 bytes), and one ARP-like frame (64 bytes).
func observed(t *testing.T) (*waggle.Collection, *ebpf.CollectionSpec) {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec("../testdata/live/live.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	frames := [][]byte{
		udpFrame("10.0.0.1", "10.0.0.2", 1234, 9000, make([]byte, 18)),
		udpFrame("10.0.0.1", "10.0.0.2", 1234, 9000, make([]byte, 18)),
		udpFrame("10.0.0.1", "10.0.0.2", 1234, 9000, make([]byte, 18)),
		udpFrame("10.0.0.3", "10.0.0.2", 5353, 53, make([]byte, 58)),
		append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06}, make([]byte, 50)...),
	}
	for _, f := range frames {
		ret, err := coll.Programs["xdp_observe"].Run(&waggle.RunOptions{Data: f})
		if err != nil || ret != 2 {
			t.Fatalf("run: %v, %v", ret, err)
		}
	}
	return coll, spec
}

func scrape(t *testing.T, reg *metrics.Registry) string {
	t.Helper()
	srv := httptest.NewServer(metrics.Handler(reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if strings.Contains(string(body), "# waggle: ") {
		t.Errorf("the scrape reports an error:\n%s", body)
	}
	return string(body)
}

// series returns the lines of a scrape that start with prefix, sorted.
func series(body, prefix string) []string {
	var out []string
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
}

func TestMapsEndpoint(t *testing.T) {
	coll, spec := observed(t)
	body := scrape(t, metrics.NewRegistry(metrics.NewMaps(coll, spec, metrics.MapOptions{})))

	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"waggle_map_flows{", []string{
			`waggle_map_flows{daddr="10.0.0.2",dport="53",field="bytes",map="flows",pad="0",protocol="17",saddr="10.0.0.3"} 100`,
			`waggle_map_flows{daddr="10.0.0.2",dport="53",field="packets",map="flows",pad="0",protocol="17",saddr="10.0.0.3"} 1`,
			`waggle_map_flows{daddr="10.0.0.2",dport="9000",field="bytes",map="flows",pad="0",protocol="17",saddr="10.0.0.1"} 180`,
			`waggle_map_flows{daddr="10.0.0.2",dport="9000",field="packets",map="flows",pad="0",protocol="17",saddr="10.0.0.1"} 3`,
		}},
		// 60-byte frames in slot 5 ([32, 64)), 64 and 100 in slot 6.
		{`waggle_map_len_hist{key="5"`, []string{`waggle_map_len_hist{key="5",map="len_hist"} 3`}},
		{`waggle_map_len_hist{key="6"`, []string{`waggle_map_len_hist{key="6",map="len_hist"} 2`}},
		{`waggle_map_len_hist{key="7"`, []string{`waggle_map_len_hist{key="7",map="len_hist"} 0`}},
		// A global variable: the .bss data section's field.
		{"waggle_map_bss{", []string{`waggle_map_bss{field="runs",key="0",map=".bss"} 5`}},
		{"waggle_map_reflected{", []string{`waggle_map_reflected{key="0",map="reflected"} 0`}},
		{"waggle_map_entries{", []string{
			`waggle_map_entries{map=".bss"} 1`,
			`waggle_map_entries{map="flows"} 2`,
			`waggle_map_entries{map="len_hist"} 64`,
			`waggle_map_entries{map="reflected"} 1`,
			`waggle_map_entries{map="tx_port"} 0`,
		}},
		{`waggle_map_truncated{map="flows"}`, []string{`waggle_map_truncated{map="flows"} 0`}},
		// The ring buffer is not read: that would consume its records.
		{"waggle_map_events", nil},
	} {
		if got := series(body, tc.prefix); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n%s\nwant\n%s", tc.prefix, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
	if !strings.Contains(body, "# TYPE waggle_map_flows gauge") {
		t.Errorf("no gauge family for flows:\n%s", body)
	}
	if n := len(series(body, "waggle_map_len_hist{")); n != 64 {
		t.Errorf("len_hist has %d series, want 64", n)
	}
}

func TestMapsTruncated(t *testing.T) {
	coll, spec := observed(t)
	var logs []string
	logf := func(format string, args ...any) { logs = append(logs, fmt.Sprintf(format, args...)) }
	reg := metrics.NewRegistry(metrics.NewMaps(coll, spec, metrics.MapOptions{MaxEntries: 1, Logf: logf}))
	for range 2 {
		body := scrape(t, reg)
		if got := series(body, "waggle_map_truncated{"); strings.Join(got, "\n") != strings.Join([]string{
			`waggle_map_truncated{map=".bss"} 0`,
			`waggle_map_truncated{map="flows"} 1`,
			`waggle_map_truncated{map="len_hist"} 1`,
			`waggle_map_truncated{map="reflected"} 0`,
			`waggle_map_truncated{map="tx_port"} 0`,
		}, "\n") {
			t.Errorf("truncated:\n%s", strings.Join(got, "\n"))
		}
		if got := series(body, "waggle_map_flows{"); len(got) != 2 { // one entry: packets and bytes
			t.Errorf("flows: %d series, want 2:\n%s", len(got), strings.Join(got, "\n"))
		}
		if got := series(body, "waggle_map_len_hist{"); len(got) != 1 || !strings.Contains(got[0], `key="0"`) {
			t.Errorf("len_hist: %v, want slot 0 only", got)
		}
	}
	if len(logs) != 2 || !strings.Contains(logs[0], "map flows holds more than 1 entries") {
		t.Errorf("logs (one per truncated map, once): %q", logs)
	}
}

func TestMapsPerCPUAndNoBTF(t *testing.T) {
	// A per-CPU array without BTF: the key is a number, the values are
	// summed over the CPU slots.
	m, err := waggle.NewMapWithOptions(&ebpf.MapSpec{Name: "pc", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2},
		waggle.MapOptions{CPUs: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Put(uint32(1), []uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	// A hash with a 6-byte key and 3-byte value, no BTF: bytes in hex;
	// the value is not a number, so the map has no series.
	h, err := waggle.NewMap(&ebpf.MapSpec{Name: "raw-keys", Type: ebpf.Hash, KeySize: 6, ValueSize: 3, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Put([]byte{1, 2, 3, 4, 5, 6}, []byte{7, 8, 9}); err != nil {
		t.Fatal(err)
	}
	coll := &waggle.Collection{Maps: map[string]*waggle.Map{"pc": m, "raw-keys": h}}
	body := scrape(t, metrics.NewRegistry(metrics.NewMaps(coll, nil, metrics.MapOptions{})))
	if got := series(body, "waggle_map_pc{"); strings.Join(got, "\n") != `waggle_map_pc{key="0",map="pc"} 0`+"\n"+`waggle_map_pc{key="1",map="pc"} 6` {
		t.Errorf("pc:\n%s", strings.Join(got, "\n"))
	}
	if got := series(body, `waggle_map_entries{map="raw-keys"}`); len(got) != 1 || !strings.HasSuffix(got[0], " 1") {
		t.Errorf("raw-keys entries: %v", got)
	}
	if !strings.Contains(body, "summed over the CPU slots") {
		t.Error("the per-CPU map's help does not say the values are summed")
	}
}

// testStruct builds BTF for
//
//	enum color { RED, GREEN = 5 };
//	struct k { __u32 ip; __s16 delta; enum color c; __u8 mac[6]; char name[4]; __u32 flag:1, level:3; __u32 v6addr[4]; };
func testStruct() (*btf.Struct, uint32) {
	u8 := &btf.Int{Name: "unsigned char", Size: 1}
	ch := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	s16 := &btf.Int{Name: "short", Size: 2, Encoding: btf.Signed}
	color := &btf.Enum{Name: "color", Size: 4, Values: []btf.EnumValue{{Name: "RED", Value: 0}, {Name: "GREEN", Value: 5}}}
	s := &btf.Struct{Name: "k", Size: 44, Members: []btf.Member{
		{Name: "ip", Type: u32, Offset: 0},
		{Name: "delta", Type: s16, Offset: 32},
		{Name: "c", Type: color, Offset: 64},
		{Name: "mac", Type: &btf.Array{Type: u8, Index: u32, Nelems: 6}, Offset: 96},
		{Name: "name", Type: &btf.Array{Type: ch, Index: u32, Nelems: 4}, Offset: 144},
		{Name: "flag", Type: u32, Offset: 176, BitfieldSize: 1},
		{Name: "level", Type: u32, Offset: 177, BitfieldSize: 3},
		{Name: "v6addr", Type: &btf.Array{Type: u32, Index: u32, Nelems: 4}, Offset: 224},
	}}
	return s, 44
}

func testStructBytes() []byte {
	b := make([]byte, 44)
	copy(b[0:], []byte{192, 168, 1, 7})
	binary.NativeEndian.PutUint16(b[4:], uint16(0xfffe)) // -2
	binary.NativeEndian.PutUint32(b[8:], 5)
	copy(b[12:], []byte{0xde, 0xad, 0xbe, 0xef, 0, 1})
	copy(b[18:], "eth")
	binary.NativeEndian.PutUint32(b[22:], 1|6<<1) // flag 1, level 6
	a := netip.MustParseAddr("fe80::1").As16()
	copy(b[28:], a[:])
	return b
}

func TestLayout(t *testing.T) {
	s, size := testStruct()
	b := testStructBytes()
	format := func(l *metrics.Layout) string {
		var parts []string
		for _, f := range l.Leaves {
			parts = append(parts, f.Name+"="+f.Format(b))
		}
		return strings.Join(parts, " ")
	}
	if got, want := format(metrics.KeyLayout(s, size)), "ip=192.168.1.7 delta=-2 c=GREEN mac=deadbeef0001 name=eth flag=1 level=6 v6addr=fe80::1"; got != want {
		t.Errorf("key layout:\n%s\nwant\n%s", got, want)
	}
	// A value layout splits arrays of numbers (mac and v6addr are bytes
	// and an address: kept whole).
	arr := &btf.Struct{Name: "v", Size: 12, Members: []btf.Member{
		{Name: "counts", Type: &btf.Array{Type: &btf.Int{Name: "unsigned int", Size: 4}, Nelems: 3}, Offset: 0},
	}}
	vb := make([]byte, 12)
	binary.NativeEndian.PutUint32(vb[4:], 9)
	vl := metrics.ValueLayout(arr, 12)
	var names []string
	for _, f := range vl.Leaves {
		names = append(names, f.Name+"="+f.Format(vb))
	}
	if got := strings.Join(names, " "); got != "counts[0]=0 counts[1]=9 counts[2]=0" {
		t.Errorf("value layout: %s", got)
	}
	// In a key, an array of integers is one leaf.
	if got := metrics.KeyLayout(arr, 12).Leaves[0].Format(vb); got != "0,9,0" {
		t.Errorf("key array: %s", got)
	}
	// No BTF, or BTF of the wrong size: one scalar leaf.
	for _, tc := range []struct {
		typ  btf.Type
		size uint32
		b    []byte
		want string
	}{
		{nil, 4, []byte{1, 0, 0, 0}, "1"},
		{nil, 3, []byte{1, 2, 3}, "010203"},
		{s, 8, make([]byte, 8), "0"},
		{&btf.Void{}, 2, []byte{2, 0}, "2"},
	} {
		l := metrics.KeyLayout(tc.typ, tc.size)
		if !l.Scalar || len(l.Leaves) != 1 || l.Leaves[0].Format(tc.b) != tc.want {
			t.Errorf("KeyLayout(%v, %d) = %+v, formats %q, want scalar %q", tc.typ, tc.size, l, l.Leaves[0].Format(tc.b), tc.want)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	s, _ := testStruct()
	got := string(metrics.AppendJSON(nil, s, testStructBytes()))
	want := `{"ip":"192.168.1.7","delta":-2,"c":"GREEN","mac":"deadbeef0001","name":"eth","flag":1,"level":6,"v6addr":"fe80::1"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := string(metrics.AppendJSON(nil, nil, []byte{1, 2})); got != `"0102"` {
		t.Errorf("no type: %s", got)
	}
	if got := string(metrics.AppendJSON(nil, s, []byte{1, 2})); got != `"0102"` {
		t.Errorf("short record: %s", got)
	}
	// The event of live.o.
	spec, err := waggle.LoadCollectionSpec("../testdata/live/live.o")
	if err != nil {
		t.Fatal(err)
	}
	var ev *btf.Struct
	if err := spec.Types.TypeByName("event", &ev); err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 24)
	copy(rec[0:], []byte{10, 0, 0, 1})
	copy(rec[4:], []byte{10, 0, 0, 2})
	binary.NativeEndian.PutUint16(rec[10:], 9000)
	binary.NativeEndian.PutUint32(rec[12:], 60)
	copy(rec[16:], "ipv4")
	if got, want := string(metrics.AppendJSON(nil, ev, rec)), `{"saddr":"10.0.0.1","daddr":"10.0.0.2","sport":0,"dport":9000,"len":60,"tag":"ipv4"}`; got != want {
		t.Errorf("event:\n%s\nwant\n%s", got, want)
	}
}

func TestProgram(t *testing.T) {
	p := metrics.NewProgram("fw", []string{"drop", "pass"})
	reg := metrics.NewRegistry(p)
	for range 3 {
		p.ObserveRun("pass", 300*time.Nanosecond)
	}
	p.ObserveRun("drop", time.Microsecond)
	p.ObserveRun("odd", time.Microsecond)
	p.ObserveError(time.Millisecond)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "waggle_program_run_duration_seconds waggle_program_run_errors_total waggle_program_runs_total waggle_program_verdicts_total" {
		t.Errorf("families: %s", got)
	}
	want := `# HELP waggle_program_run_errors_total Runs of the program that failed.
# TYPE waggle_program_run_errors_total counter
waggle_program_run_errors_total{program="fw"} 1
# HELP waggle_program_runs_total Runs of the program that ended normally.
# TYPE waggle_program_runs_total counter
waggle_program_runs_total{program="fw"} 5
# HELP waggle_program_verdicts_total Runs of the program by verdict.
# TYPE waggle_program_verdicts_total counter
waggle_program_verdicts_total{program="fw",verdict="drop"} 1
waggle_program_verdicts_total{program="fw",verdict="odd"} 1
waggle_program_verdicts_total{program="fw",verdict="pass"} 3
`
	if got := string(metrics.AppendText(nil, fams[1:])); got != want {
		t.Errorf("counters:\n%s\nwant\n%s", got, want)
	}
	if h := fams[0]; h.Type != metrics.Histogram || len(h.Metrics) != 1 || h.Metrics[0].Histogram == nil ||
		len(h.Metrics[0].Histogram.Buckets) != len(metrics.DurationBuckets) {
		t.Errorf("duration histogram: %+v", h)
	} else if hv := h.Metrics[0].Histogram; hv.Count != 6 || hv.Sum != 3*300e-9+2e-6+1e-3 {
		t.Errorf("duration histogram: count %d, sum %g; want 6, %g", hv.Count, hv.Sum, 3*300e-9+2e-6+1e-3)
	}
	body := scrape(t, reg)
	if !strings.Contains(body, `waggle_program_run_duration_seconds_count{program="fw"} 6`) ||
		!strings.Contains(body, `waggle_program_run_duration_seconds_bucket{program="fw",le="4e-07"} 3`) {
		t.Errorf("histogram:\n%s", strings.Join(series(body, "waggle_program_run_duration"), "\n"))
	}
	for _, tc := range []struct {
		name    string
		observe func()
	}{
		{"ObserveRun, a verdict given to NewProgram", func() { p.ObserveRun("pass", time.Microsecond) }},
		{"ObserveRun, a verdict seen before", func() { p.ObserveRun("odd", 10*time.Millisecond) }},
		{"ObserveError", func() { p.ObserveError(time.Microsecond) }},
	} {
		if a := testing.AllocsPerRun(100, tc.observe); a != 0 {
			t.Errorf("%s allocates %v times", tc.name, a)
		}
	}
}

func TestListen(t *testing.T) {
	p := metrics.NewProgram("fw", []string{"pass"})
	p.ObserveRun("pass", time.Microsecond)
	srv, err := metrics.Listen("127.0.0.1:0", metrics.NewRegistry(p))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/metrics", "/"} {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `waggle_program_runs_total{program="fw"} 1`) {
			t.Errorf("%s:\n%s", path, body)
		}
	}
	if resp, err := http.Get("http://" + srv.Addr() + "/nope"); err != nil || resp.StatusCode != 404 {
		t.Errorf("/nope: %v %v", resp, err)
	}
	for _, tc := range []struct {
		method string
		status int
		body   string
	}{
		{http.MethodHead, 200, ""},
		{http.MethodPost, 405, "metrics: method POST not allowed (GET or HEAD)\n"},
		{http.MethodDelete, 405, "metrics: method DELETE not allowed (GET or HEAD)\n"},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+srv.Addr()+"/metrics", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(body) != tc.body {
			t.Errorf("%s /metrics: %s %q, want %d %q", tc.method, resp.Status, body, tc.status, tc.body)
		}
	}
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if _, err := http.Get("http://" + srv.Addr() + "/metrics"); err == nil {
		t.Error("served after Close")
	}
}

// TestDecode checks the BTF formatter on the kernel's big-endian types
// and addresses, for layouts (tables, labels) and decoded values (dumps,
// JSON).
func TestDecode(t *testing.T) {
	u8 := &btf.Int{Name: "unsigned char", Size: 1}
	u16 := &btf.Int{Name: "unsigned short", Size: 2}
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	be16 := &btf.Typedef{Name: "__be16", Type: &btf.Typedef{Name: "__u16", Type: u16}}
	be32 := &btf.Typedef{Name: "__be32", Type: &btf.Typedef{Name: "__u32", Type: u32}}
	key := &btf.Struct{Name: "k", Size: 32, Members: []btf.Member{
		{Name: "daddr", Type: be32, Offset: 0},
		{Name: "seq", Type: be32, Offset: 32},
		{Name: "dport", Type: be16, Offset: 64},
		{Name: "port", Type: &btf.Const{Type: be16}, Offset: 80},
		{Name: "src_ip6", Type: &btf.Array{Type: u8, Index: u32, Nelems: 16}, Offset: 96},
		{Name: "pad", Type: &btf.Array{Type: u8, Index: u32, Nelems: 4}, Offset: 224},
	}}
	b := []byte{10, 0, 0, 1, 0, 0, 1, 0, 0, 80, 0x1f, 0x90}
	a := netip.MustParseAddr("2001:db8::1").As16()
	b = append(append(b, a[:]...), 0, 0, 0, 0)

	var cells []string
	l := metrics.KeyLayout(key, 32)
	for _, f := range l.Leaves {
		cells = append(cells, f.Name+"="+f.Format(b))
	}
	if got, want := strings.Join(cells, " "), "daddr=10.0.0.1 seq=256 dport=80 port=8080 src_ip6=2001:db8::1 pad=00000000"; got != want {
		t.Errorf("layout: %s\nwant    %s", got, want)
	}
	if n, _ := l.Leaves[2].Number(b); n != 80 {
		t.Errorf("dport as a number: %v", n)
	}
	v, ok := metrics.Decode(key, b)
	if !ok {
		t.Fatal("Decode: not ok")
	}
	for _, tc := range []struct{ got, want string }{
		{v.String(), "{daddr: 10.0.0.1, seq: 256, dport: 80, port: 8080, src_ip6: 2001:db8::1, pad: 00000000}"},
		{string(metrics.AppendJSON(nil, key, b)), `{"daddr":"10.0.0.1","seq":256,"dport":80,"port":8080,"src_ip6":"2001:db8::1","pad":"00000000"}`},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
	}
	for _, tc := range []struct {
		typ btf.Type
		b   []byte
	}{
		{nil, []byte{1}},
		{&btf.Void{}, []byte{1}},
		{key, b[:8]},
	} {
		if _, ok := metrics.Decode(tc.typ, tc.b); ok {
			t.Errorf("Decode(%v, % x): ok, want no BTF", tc.typ, tc.b)
		}
	}
}

// TestProgramConcurrent observes runs from several goroutines while
// scraping (go test -race checks the counters' synchronisation); the
// totals are exact, and each scrape's histogram is consistent (its +Inf
// bucket is its count).
func TestProgramConcurrent(t *testing.T) {
	p := metrics.NewProgram("fw", []string{"pass"})
	const workers, runs = 4, 2000
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range runs {
				switch {
				case i%10 == 0:
					p.ObserveError(time.Duration(i) * time.Nanosecond)
				case w%2 == 0:
					p.ObserveRun("pass", time.Duration(i)*time.Nanosecond)
				default:
					p.ObserveRun(fmt.Sprint("v", i%3), time.Duration(i)*time.Nanosecond)
				}
			}
		}()
	}
	scrapes := 0
	for finished := 0; finished < workers; {
		select {
		case <-done:
			finished++
		default:
			fams, err := metrics.Gather(p)
			if err != nil {
				t.Fatal(err)
			}
			scrapes++
			for _, f := range fams {
				if h := f.Metrics[0].Histogram; h != nil && len(h.Buckets) > 0 && h.Buckets[len(h.Buckets)-1].Count > h.Count {
					t.Fatalf("histogram not cumulative: %+v", h)
				}
			}
		}
	}
	fams, err := metrics.Gather(p)
	if err != nil {
		t.Fatal(err)
	}
	text := string(metrics.AppendText(nil, fams))
	var sumNs int64
	for i := range runs {
		sumNs += int64(i)
	}
	for _, want := range []string{
		fmt.Sprintf(`waggle_program_runs_total{program="fw"} %d`, workers*runs*9/10),
		fmt.Sprintf(`waggle_program_run_errors_total{program="fw"} %d`, workers*runs/10),
		fmt.Sprintf(`waggle_program_run_duration_seconds_count{program="fw"} %d`, workers*runs),
		fmt.Sprintf(`waggle_program_run_duration_seconds_bucket{program="fw",le="+Inf"} %d`, workers*runs),
		fmt.Sprintf(`waggle_program_run_duration_seconds_sum{program="fw"} %v`, float64(workers*sumNs)/1e9),
		fmt.Sprintf(`waggle_program_verdicts_total{program="fw",verdict="pass"} %d`, workers/2*runs*9/10),
		fmt.Sprintf(`waggle_program_verdicts_total{program="fw",verdict="v0"} %d`, workers/2*600),
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("no %s in\n%s", want, text)
		}
	}
	t.Logf("%d scrapes during the runs", scrapes)
}

// BenchmarkObserveRun measures ObserveRun from all the CPUs at once (it
// must not allocate).
func BenchmarkObserveRun(b *testing.B) {
	p := metrics.NewProgram("fw", []string{"drop", "pass"})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.ObserveRun("pass", 700*time.Nanosecond)
		}
	})
}
