package waggle_test

import (
	"testing"

	"github.com/waggle-ebpf/waggle"
)

// redirectFrame is an Ethernet frame any of redirect.o's programs takes.
var redirectFrame = func() []byte {
	f := make([]byte, 64)
	f[12], f[13] = 0x08, 0x00
	return f
}()

func loadRedirect(t testing.TB) *waggle.Collection {
	t.Helper()
	spec, err := waggle.LoadCollectionSpec("testdata/progs/redirect.o")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	return coll
}

func TestRunRedirect(t *testing.T) {
	coll := loadRedirect(t)
	for _, tc := range []struct {
		name     string
		prog     string
		fill     map[uint32]uint32 // tx_ports
		retval   uint64
		found    bool
		redirect waggle.Redirect
	}{
		{name: "bpf_redirect", prog: "xdp_redirect", retval: 4, found: true,
			redirect: waggle.Redirect{Ifindex: 1}},
		{name: "tc bpf_redirect keeps BPF_F_INGRESS of the last call", prog: "tc_redirect", retval: 7, found: true,
			redirect: waggle.Redirect{Ifindex: 1, Flags: waggle.RedirectIngress}},
		{name: "devmap slot empty", prog: "xdp_redirect_map", retval: 2},
		{name: "devmap slot holds ifindex 7", prog: "xdp_redirect_map", fill: map[uint32]uint32{0: 7}, retval: 4, found: true,
			redirect: waggle.Redirect{Ifindex: 7, Key: 0, Flags: 2, Map: "tx_ports"}}, // flags: the fallback action XDP_PASS
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports := coll.Maps["tx_ports"]
			for k := range uint32(4) {
				_ = ports.Delete(k)
			}
			for k, v := range tc.fill {
				if err := ports.Put(k, v); err != nil {
					t.Fatal(err)
				}
			}
			r := waggle.Redirect{Ifindex: 99, Key: 99, Map: "unchanged"}
			before := r
			res, found, err := coll.Programs[tc.prog].RunRedirect(&waggle.RunOptions{Data: redirectFrame}, &r)
			if err != nil {
				t.Fatal(err)
			}
			if res.ReturnValue != tc.retval || found != tc.found {
				t.Fatalf("retval %d found %v, want %d %v", res.ReturnValue, found, tc.retval, tc.found)
			}
			want := tc.redirect
			if !found {
				want = before
			}
			if r != want {
				t.Errorf("redirect %+v, want %+v", r, want)
			}
		})
	}
}

func TestRunRedirectError(t *testing.T) {
	coll := loadRedirect(t)
	var r waggle.Redirect
	if _, _, err := coll.Programs["xdp_redirect"].RunRedirect(&waggle.RunOptions{Data: []byte{1, 2}}, &r); err == nil {
		t.Fatal("a 2-byte packet ran")
	}
	if _, _, err := coll.Programs["xdp_redirect"].RunRedirect(&waggle.RunOptions{Flags: waggle.RunOnCPU, CPU: 1 << 20, Data: redirectFrame}, &r); err == nil {
		t.Fatal("CPU 1<<20 accepted")
	}
}

// TestRunRedirectAllocs checks that RunRedirect allocates no more than
// Run: nothing for bpf_redirect, and for bpf_redirect_map on a devmap only
// what the program's helpers allocate.
func TestRunRedirectAllocs(t *testing.T) {
	if redirectRace {
		t.Skip("skipped: allocations are not counted under the race detector (sync.Pool drops items at random)")
	}
	coll := loadRedirect(t)
	if err := coll.Maps["tx_ports"].Put(uint32(0), uint32(3)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prog    string
		ifindex uint32
	}{{"xdp_redirect", 1}, {"xdp_redirect_map", 3}} {
		prog := coll.Programs[tc.prog]
		var r waggle.Redirect
		out := make([]byte, 4096)
		opts := &waggle.RunOptions{Data: redirectFrame}
		withTarget := testing.AllocsPerRun(100, func() {
			opts.DataOut = out
			if _, found, err := prog.RunRedirect(opts, &r); err != nil || !found || r.Ifindex != tc.ifindex {
				t.Fatalf("found %v %+v, %v", found, r, err)
			}
		})
		plain := testing.AllocsPerRun(100, func() {
			opts.DataOut = out
			if _, err := prog.Run(opts); err != nil {
				t.Fatal(err)
			}
		})
		if withTarget > plain || (tc.prog == "xdp_redirect" && withTarget != 0) {
			t.Errorf("%s: %v allocations per RunRedirect, %v per Run", tc.prog, withTarget, plain)
		}
	}
}
