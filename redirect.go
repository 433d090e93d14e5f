package waggle

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/internal/maps"
)

// Flags of bpf_redirect and bpf_redirect_map that a Redirect may carry.
const (
	// RedirectIngress is BPF_F_INGRESS: tc's bpf_redirect to the target's
	// receive path instead of its transmit path.
	RedirectIngress = 1
	// RedirectBroadcast is BPF_F_BROADCAST: bpf_redirect_map to every
	// device of a devmap.
	RedirectBroadcast = 1 << 3
	// RedirectExcludeIngress is BPF_F_EXCLUDE_INGRESS: with
	// RedirectBroadcast, not to the device the packet came from.
	RedirectExcludeIngress = 1 << 4
)

// Redirect is where a program sent its packet with bpf_redirect or
// bpf_redirect_map in its last run; see Program.RunRedirect.
type Redirect struct {
	// Ifindex is the target interface: bpf_redirect's ifindex, or, for
	// bpf_redirect_map on a devmap, the ifindex its entry holds (the
	// first 4 bytes of struct bpf_devmap_val). 0 when the target is not a
	// single interface: a broadcast, an entry deleted since the program
	// looked it up, or a map that is not a devmap (cpumap, xskmap, ...).
	Ifindex uint32
	// Key is bpf_redirect_map's key; 0 for bpf_redirect.
	Key uint32
	// Flags are the helper's flags (RedirectIngress, RedirectBroadcast,
	// RedirectExcludeIngress; for bpf_redirect_map the low bits hold the
	// fallback action).
	Flags uint64
	// Map is the name of bpf_redirect_map's map; "" for bpf_redirect.
	Map string

	key [4]byte // scratch for the devmap lookup, so that it does not allocate
}

// RunRedirect is Run that also reports the redirect target that the run's
// last successful bpf_redirect or bpf_redirect_map chose: it stores it in
// *redirect and returns true, or leaves *redirect unchanged and returns
// false when the program called neither (or only failed calls). A program
// that returns XDP_REDIRECT or TC_ACT_REDIRECT without a successful call
// has no target, as in the kernel, where such a packet is dropped.
//
// Like Run, it does not allocate when the options' buffers are large
// enough; redirect must not be nil.
func (p *Program) RunRedirect(opts *RunOptions, redirect *Redirect) (RunResult, bool, error) {
	if opts == nil {
		opts = &RunOptions{}
	}
	st, err := p.begin(opts)
	if err != nil {
		return RunResult{}, false, err
	}
	res, err := p.run(st, opts)
	found := false
	if err == nil {
		if r, ok := st.run.Redirect(); ok {
			found = true
			redirect.Ifindex, redirect.Key, redirect.Flags, redirect.Map = r.Ifindex, 0, r.Flags, ""
			if m, ok := r.Map.(maps.Map); ok {
				redirect.Key = r.Ifindex
				redirect.Ifindex = devmapTarget(m, r.Ifindex, r.Flags, &redirect.key, st.cpu)
				redirect.Map = m.Spec().Name
			}
		}
	}
	p.end(st)
	if err != nil {
		return RunResult{}, false, fmt.Errorf("run program %s: %w", displayName(p.name), err)
	}
	return res, found, nil
}

// devmapTarget is the ifindex that a devmap's entry key holds, or 0.
func devmapTarget(m maps.Map, key uint32, flags uint64, scratch *[4]byte, cpu int) uint32 {
	spec := m.Spec()
	if flags&RedirectBroadcast != 0 || (spec.Type != ebpf.DevMap && spec.Type != ebpf.DevMapHash) || spec.KeySize != 4 {
		return 0
	}
	binary.NativeEndian.PutUint32(scratch[:], key)
	v := m.Lookup(scratch[:], cpu)
	if v == nil {
		return 0
	}
	// Values are 8-byte aligned; programs may update them concurrently.
	return atomic.LoadUint32((*uint32)(v))
}
