package packet_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"github.com/waggle-ebpf/waggle/packet"
)

// TestKernelAgrees runs every end-to-end case's program on every frame in
// the kernel (BPF_PROG_TEST_RUN, as root) and in a Processor: the kernel
// must load the program (examples/flow_stats among them), refuse the
// frames the Processor refuses, return the same values and leave the same
// packets; the examples' maps must hold the same after the last frame.
func TestKernelAgrees(t *testing.T) {
	if err := kerneltest.Available(); err != nil {
		t.Skipf("the kernel cannot run eBPF programs here: %v", err)
	}
	for _, tc := range e2eCases {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := ebpf.LoadCollectionSpec(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			kcoll, err := kerneltest.LoadCollection(spec, ebpf.CollectionOptions{}, tc.prog)
			if err != nil {
				kerneltest.SkipIfUnsupported(t, err)
				t.Fatalf("the kernel refuses %s: %v", tc.obj, err)
			}
			defer kcoll.Close()
			kprog := kcoll.Programs[tc.prog]
			coll := loadCollection(t, tc.obj)
			if tc.setup != nil {
				tc.setup(t, coll)
				fillFirewallKernel(t, kcoll)
			}
			proc, err := packet.NewProcessor(coll.Programs[tc.prog], packet.ProcessorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range tc.frames {
				dataOut := make([]byte, len(f)+8192)
				opts := &ebpf.RunOptions{Data: f, DataOut: dataOut}
				kret, kerr := kprog.Run(opts)
				v, out, err := proc.Run(f)
				where := fmt.Sprintf("frame %d (%d bytes)", i, len(f))
				if kerr != nil {
					if !errors.Is(kerr, errno.EINVAL) || !errors.Is(err, packet.ErrRefused) {
						t.Errorf("%s: the kernel says %v, waggle %v, %v", where, kerr, v, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: the kernel returns %d, waggle fails: %v", where, kret, err)
					continue
				}
				if v.Return != kret {
					t.Errorf("%s: the kernel returns %d, waggle %d (%v)", where, kret, v.Return, v)
				}
				if spec.Programs[tc.prog].Type == ebpf.SocketFilter {
					continue // the kernel's data out has a zeroed Ethernet header
				}
				kout := opts.DataOut
				if len(kout) >= tc.kernelMeta {
					kout = kout[tc.kernelMeta:]
				}
				if !bytes.Equal(out, kout) {
					t.Errorf("%s: the kernel leaves\n%x\nwaggle\n%x", where, kout, out)
				}
			}
			if tc.check == nil {
				return
			}
			for name, km := range kcoll.Maps {
				if km.Type() == ebpf.LPMTrie || km.Type() == ebpf.Hash && name != "flows" {
					continue // the firewall's configuration
				}
				want := map[string]string{}
				var k, val []byte
				it := km.Iterate()
				for it.Next(&k, &val) {
					want[hex.EncodeToString(k)] = hex.EncodeToString(val)
				}
				if err := it.Err(); err != nil {
					t.Fatal(err)
				}
				entries, err := coll.Maps[name].Dump()
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, e := range entries {
					got[hex.EncodeToString(e.Key)] = hex.EncodeToString(e.Value)
				}
				compareMaps(t, name+" (waggle, then the kernel)", got, want)
			}
		})
	}
}

// fillFirewallKernel is fillFirewall for the kernel's maps.
func fillFirewallKernel(t *testing.T, coll *ebpf.Collection) {
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

// TestObjectsUpToDate rebuilds testdata/verdicts.c when clang is installed
// and compares the programs' instructions with the committed object.
func TestObjectsUpToDate(t *testing.T) {
	kerneltest.ObjectsUpToDate(t, "testdata/verdicts.c")
}
