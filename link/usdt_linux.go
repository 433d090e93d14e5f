//go:build linux && amd64

package link

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/symtab"
	"github.com/waggle-ebpf/waggle/internal/usdt"
)

// How USDT probes work here (see docs/ARCHITECTURE.md, "USDT probes"):
// every site of a probe is a uprobe point (a breakpoint on its nop, which
// the hit emulates) whose runs get the site's spec ID as their attach
// cookie. The specs go into the object's __bpf_usdt_specs before
// anything starts; in each process, when the probes go in (insert), the
// site's address goes into __bpf_usdt_ip_to_spec_id and its semaphore is
// incremented; detaching decrements it again.

// usdtPoint is what a uprobe point at a USDT site adds.
type usdtPoint struct {
	probe USDT
	site  usdt.Site
	spec  uint32 // the spec's ID in probe.Specs
}

// addUSDT resolves each probe's sites in its file (before anything
// starts: a missing file or probe is an error and the process is left
// alone), writes their specs, and adds a point per site.
func (t *uprobeTracer) addUSDT(probes []USDT, maps []symtab.Mapping) error {
	type specKey struct {
		m    *waggle.Map
		spec string
	}
	ids := map[specKey]uint32{}
	files := map[string][]usdt.Site{}
	for _, u := range probes {
		if u.Program == nil {
			return fmt.Errorf("USDT probe %s:%s: no program", u.Provider, u.Name)
		}
		if u.Program.Type() != ebpf.Kprobe {
			return fmt.Errorf("program %s is of type %s; USDT programs are ebpf.Kprobe programs (SEC(\"usdt/...\"))", u.Program.Name(), u.Program.Type())
		}
		if u.Path == "" || u.Provider == "" || u.Name == "" {
			return fmt.Errorf("program %s: a USDT probe needs a path, a provider and a name (PATH:PROVIDER:NAME), not %q:%q:%q", u.Program.Name(), u.Path, u.Provider, u.Name)
		}
		if err := checkUSDTMaps(u); err != nil {
			return fmt.Errorf("program %s: %w", u.Program.Name(), err)
		}
		file, err := symtab.FindLibrary(maps, u.Path)
		if err != nil && !strings.Contains(u.Path, "/") {
			if p, lerr := exec.LookPath(u.Path); lerr == nil {
				file, err = p, nil
			}
		}
		if err != nil {
			return fmt.Errorf("program %s: %w", u.Program.Name(), err)
		}
		sites, ok := files[file]
		if !ok {
			if sites, err = usdt.ReadFile(file); err != nil {
				return fmt.Errorf("program %s: %w", u.Program.Name(), err)
			}
			files[file] = sites
		}
		found, err := usdt.Find(sites, u.Provider, u.Name)
		if err != nil {
			return fmt.Errorf("program %s: %s: %w", u.Program.Name(), file, err)
		}
		for _, s := range found {
			pt := &usdtPoint{probe: u, site: s}
			if u.Specs != nil {
				spec, err := usdt.Spec(s.Arguments, u.Cookie)
				if err != nil {
					return fmt.Errorf("program %s: %s: probe %s: %w", u.Program.Name(), file, s.Note, err)
				}
				key := specKey{u.Specs, string(spec)}
				id, ok := ids[key]
				if !ok {
					id, ok = specIDs.alloc(u.Specs)
					if !ok {
						return fmt.Errorf("program %s: %s: more USDT sites with different arguments than the %d specs %s holds (BPF_USDT_MAX_SPEC_CNT), counting those of the object's other attached links", u.Program.Name(), file, u.Specs.MaxEntries(), USDTSpecsMap)
					}
					t.specs = append(t.specs, specID{u.Specs, id})
					if err := u.Specs.Update(id, spec, ebpf.UpdateAny); err != nil {
						return fmt.Errorf("program %s: write the spec of %s into %s: %w", u.Program.Name(), s.Note, USDTSpecsMap, err)
					}
					ids[key] = id
				}
				pt.spec = id
			}
			t.probes = append(t.probes, &uprobePoint{
				u:      Uprobe{Program: u.Program, Path: u.Path, Symbol: u.Provider + ":" + u.Name},
				file:   file,
				off:    s.Offset,
				cookie: uint64(pt.spec),
				usdt:   pt,
			})
		}
	}
	return nil
}

// specID is a spec's ID in a __bpf_usdt_specs map.
type specID struct {
	m  *waggle.Map
	id uint32
}

// specIDs are the IDs in use in each __bpf_usdt_specs map, by every
// link: an object's programs may be in several links at once (each its
// own process or probes), and each link's specs need IDs of their own,
// as libbpf's per-object allocator gives them. A link frees its IDs when
// it is closed (releaseSpecs).
var specIDs = &specAllocator{used: map[*waggle.Map]map[uint32]bool{}}

// specAllocator is the type of specIDs.
type specAllocator struct {
	sync.Mutex
	used map[*waggle.Map]map[uint32]bool
}

// alloc takes the lowest free ID of m; false: all are in use.
func (s *specAllocator) alloc(m *waggle.Map) (uint32, bool) {
	s.Lock()
	defer s.Unlock()
	used := s.used[m]
	if used == nil {
		used = map[uint32]bool{}
		s.used[m] = used
	}
	for id := range m.MaxEntries() {
		if !used[id] {
			used[id] = true
			return id, true
		}
	}
	return 0, false
}

// ipEntry is an entry that a link wrote into a __bpf_usdt_ip_to_spec_id
// map: a site's address in a process, and its spec's ID.
type ipEntry struct {
	m    *waggle.Map
	addr uint64
	spec uint32
}

// releaseSpecs frees the spec IDs of t's USDT probes and deletes the
// entries it wrote into the IP maps, as libbpf does on detach (when its
// link is closed, or its attach failed): a tracer that attaches to one
// process after another does not fill the map. An entry that another
// link has overwritten since (the same address in another process) is
// left to it.
func (t *uprobeTracer) releaseSpecs() {
	for _, e := range t.ips {
		var id uint32
		if err := e.m.Lookup(e.addr, &id); err == nil && id == e.spec {
			_ = e.m.Delete(e.addr)
		}
	}
	t.ips = nil
	specIDs.Lock()
	defer specIDs.Unlock()
	for _, s := range t.specs {
		delete(specIDs.used[s.m], s.id)
		if len(specIDs.used[s.m]) == 0 {
			delete(specIDs.used, s.m)
		}
	}
	t.specs = nil
}

// checkUSDTMaps checks that the maps of u are usdt.bpf.h's.
func checkUSDTMaps(u USDT) error {
	if m := u.Specs; m != nil && (m.Type() != ebpf.Array || m.KeySize() != 4 || m.ValueSize() != usdt.SpecSize) {
		return fmt.Errorf("%s: want an array of %d-byte values (struct __bpf_usdt_spec), not %s with %d-byte keys and %d-byte values", USDTSpecsMap, usdt.SpecSize, m.Type(), m.KeySize(), m.ValueSize())
	}
	if m := u.IPs; m != nil && (m.Type() != ebpf.Hash || m.KeySize() != 8 || m.ValueSize() != 4) {
		return fmt.Errorf("%s: want a hash of 8-byte keys and 4-byte values, not %s with %d-byte keys and %d-byte values", USDTIPsMap, m.Type(), m.KeySize(), m.ValueSize())
	}
	return nil
}

// placeUSDT does, for a USDT site's point placed at addr in the process
// of tid, what its probe needs there: its address in the IP map, its
// semaphore incremented (once per address space).
func (t *uprobeTracer) placeUSDT(sp *space, tid int, p *uprobePoint, addr uint64, maps []symtab.Mapping, file string) error {
	pt := p.usdt
	if pt.probe.IPs != nil && pt.probe.Specs != nil {
		if err := pt.probe.IPs.Update(addr, pt.spec, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("write the address %#x of %s into %s: %w", addr, pt.site.Note, USDTIPsMap, err)
		}
		t.ips = append(t.ips, ipEntry{pt.probe.IPs, addr, pt.spec})
	}
	if pt.site.SemaphoreOffset == 0 {
		return nil
	}
	sem, err := symtab.WritableAddress(maps, file, pt.site.SemaphoreOffset)
	if err != nil {
		return fmt.Errorf("the semaphore of %s: %w", pt.site.Note, err)
	}
	for _, a := range sp.sems {
		if a == sem {
			return nil
		}
	}
	if err := addSemaphore(tid, sem, 1); err != nil {
		return fmt.Errorf("the semaphore of %s at %#x: %w", pt.site.Note, sem, err)
	}
	sp.sems = append(sp.sems, sem)
	return nil
}

// addSemaphore adds d to the 16-bit semaphore at addr in the process of
// the stopped thread tid.
func addSemaphore(tid int, addr uint64, d int) error {
	var b [2]byte
	if _, err := unix.PtracePeekData(tid, uintptr(addr), b[:]); err != nil {
		return err
	}
	v := int(binary.LittleEndian.Uint16(b[:])) + d
	if v < 0 {
		v = 0 // someone else lowered it
	}
	binary.LittleEndian.PutUint16(b[:], uint16(v))
	_, err := unix.PtracePokeData(tid, uintptr(addr), b[:])
	return err
}

// releaseSemaphores decrements the semaphores that sp's probes
// incremented, through its stopped thread tid.
func releaseSemaphores(sp *space, tid int) {
	for _, a := range sp.sems {
		_ = addSemaphore(tid, a, -1)
	}
	sp.sems = nil
}

// usdtStats adds the runs of the USDT point t.probes[i] to st: one entry
// per probe and program, the sum of its sites.
func (t *uprobeTracer) usdtStats(st *UprobeStats, i int) {
	p := t.probes[i]
	attach := p.usdt.probe.attach()
	for j := range st.Programs {
		e := &st.Programs[j]
		if e.Attach == attach && e.Name == p.u.Program.Name() {
			e.Runs += p.runs.Load()
			e.Errors += p.errs.Load()
			return
		}
	}
	st.Programs = append(st.Programs, UprobeProgram{Name: p.u.Program.Name(), Attach: attach, Runs: p.runs.Load(), Errors: p.errs.Load()})
}
