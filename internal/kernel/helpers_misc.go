package kernel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/internal/maps"
)

// ktimeGetNs is bpf_ktime_get_ns: CLOCK_MONOTONIC (see monotonicNs).
func ktimeGetNs(c *helper.Call) (uint64, error) { return monotonicNs(), nil }

// ktimeGetBootNs is bpf_ktime_get_boot_ns: CLOCK_BOOTTIME (see bootNs).
func ktimeGetBootNs(c *helper.Call) (uint64, error) { return bootNs(), nil }

// ktimeGetCoarseNs is bpf_ktime_get_coarse_ns: CLOCK_MONOTONIC_COARSE (see
// coarseNs).
func ktimeGetCoarseNs(c *helper.Call) (uint64, error) { return coarseNs(), nil }

// initialJiffies is the kernel's INITIAL_JIFFIES on 64-bit for a HZ:
// jiffies start 300 seconds before wrapping 32 bits.
func initialJiffies(hz uint64) uint64 { return uint64(uint32(-int32(300 * hz))) }

// jiffies64 is bpf_jiffies64: INITIAL_JIFFIES plus CLOCK_MONOTONIC in ticks
// of Options.HZ (250 by default).
func jiffies64(c *helper.Call) (uint64, error) {
	hz := uint64(250)
	if r, _ := c.State.(*Run); r != nil && r.opts.HZ != 0 {
		hz = r.opts.HZ
	}
	ns := monotonicNs()
	return initialJiffies(hz) + ns/1e9*hz + ns%1e9*hz/1e9, nil
}

// getPrandomU32 is bpf_get_prandom_u32.
func getPrandomU32(c *helper.Call) (uint64, error) { return uint64(rand.Uint32()), nil }

// getSmpProcessorID is bpf_get_smp_processor_id: the run's CPU slot.
func getSmpProcessorID(c *helper.Call) (uint64, error) { return uint64(uint32(c.CPU)), nil }

// getNumaNodeID is bpf_get_numa_node_id: waggle has one node.
func getNumaNodeID(c *helper.Call) (uint64, error) { return 0, nil }

// currentTask is the run's task, nil for the waggle process.
func currentTask(c *helper.Call) *helper.Task {
	if r, _ := c.State.(*Run); r != nil {
		return r.task
	}
	return nil
}

// getCurrentPidTgid is bpf_get_current_pid_tgid: tgid << 32 | the
// thread's id, of the run's task or else of the waggle process and its
// calling thread.
func getCurrentPidTgid(c *helper.Call) (uint64, error) {
	if t := currentTask(c); t != nil {
		return uint64(t.TGID)<<32 | uint64(t.PID), nil
	}
	return uint64(uint32(os.Getpid()))<<32 | uint64(threadID()), nil
}

// getCurrentUIDGid is bpf_get_current_uid_gid: gid << 32 | uid, of the
// run's task or else of the waggle process.
func getCurrentUIDGid(c *helper.Call) (uint64, error) {
	if t := currentTask(c); t != nil {
		return uint64(t.GID)<<32 | uint64(t.UID), nil
	}
	uid, gid := userIDs()
	return uint64(gid)<<32 | uint64(uid), nil
}

var procComm = sync.OnceValue(func() string {
	s := processComm()
	if len(s) > 15 { // TASK_COMM_LEN - 1
		s = s[:15]
	}
	return s
})

// getCurrentComm is bpf_get_current_comm(buf, size): the task name, cut
// to size-1 bytes, NUL-terminated and padded with NULs to size.
func getCurrentComm(c *helper.Call) (uint64, error) {
	buf, err := c.Write(c.Args[0], uint64(uint32(c.Args[1])))
	if err != nil {
		return 0, err
	}
	comm := procComm()
	if t := currentTask(c); t != nil {
		comm = t.Comm
	} else if r, _ := c.State.(*Run); r != nil && r.opts.Comm != "" {
		comm = r.opts.Comm
	}
	if len(buf) == 0 {
		return 0, nil
	}
	clear(buf)
	copy(buf[:len(buf)-1], comm)
	return 0, nil
}

// Address spaces of the probe_read helpers. waggle's programs, maps and
// contexts are "kernel" memory: the memory the program may access. There is
// no user address space behind them (no traced process), so user reads
// fail with -EFAULT, as the kernel's do for kernel addresses. A kernel read
// of an address outside the program's memory fails as on x86-64: -ERANGE
// for an address in the user half (below 1<<47, NULL included), -EFAULT
// otherwise. The legacy bpf_probe_read(_str) fails with -EFAULT either way.
type addressSpace uint8

const (
	spaceCompat addressSpace = iota
	spaceUser
	spaceKernel
)

// userHalfEnd is the end of x86-64's user half of the address space.
const userHalfEnd = 1 << 47

// probeFailure is the error code of a probe read that cannot read addr.
func probeFailure(space addressSpace, addr uint64) uint64 {
	if space == spaceKernel && addr < userHalfEnd {
		return neg(errno.ERANGE)
	}
	return neg(errno.EFAULT)
}

// probeRead returns bpf_probe_read(_user|_kernel)(dst, size, src): copies
// size bytes; on failure dst is zeroed and the error code returned.
func probeRead(space addressSpace) helper.Func {
	return func(c *helper.Call) (uint64, error) {
		n := uint64(uint32(c.Args[1]))
		dst, err := c.Write(c.Args[0], n)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
		if space == spaceUser {
			if !readUser(c, dst, c.Args[2]) {
				clear(dst)
				return probeFailure(space, c.Args[2]), nil
			}
			return 0, nil
		}
		src, err := c.Read(c.Args[2], n)
		if err != nil {
			clear(dst)
			return probeFailure(space, c.Args[2]), nil
		}
		copy(dst, src)
		return 0, nil
	}
}

// probeReadStr returns bpf_probe_read(_user|_kernel)_str(dst, size, src):
// copies the NUL-terminated string at src, at most size-1 bytes and a NUL,
// and returns its length with the NUL; on failure dst is zeroed and the
// error code returned.
func probeReadStr(space addressSpace) helper.Func {
	return func(c *helper.Call) (uint64, error) {
		n := uint64(uint32(c.Args[1]))
		dst, err := c.Write(c.Args[0], n)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
		src := c.Args[2]
		if space == spaceUser {
			return readUserStr(c, dst, src), nil
		}
		for i := uint64(0); i < n; i++ {
			b, err := c.Read(src+i, 1)
			if err != nil {
				clear(dst)
				return probeFailure(space, src), nil
			}
			dst[i] = b[0]
			if b[0] == 0 {
				return i + 1, nil
			}
		}
		dst[n-1] = 0
		return n, nil
	}
}

// readUser reads the run's task's memory at addr into dst, all of it or
// it fails (false), as a fault does.
func readUser(c *helper.Call, dst []byte, addr uint64) bool {
	t := currentTask(c)
	if t == nil || t.Memory == nil || addr > 1<<63 {
		return false
	}
	n, err := t.Memory.ReadAt(dst, int64(addr))
	return n == len(dst) && (err == nil || errors.Is(err, io.EOF))
}

// readUserStr is bpf_probe_read_user_str's copy from the task's memory:
// the string at addr and its NUL, at most len(dst)-1 bytes and a NUL; it
// returns the length with the NUL, or -EFAULT with dst zeroed. The task's
// memory is read a chunk at a time, and a chunk that stops short at a page
// end is read again up to there, so a string that ends just before
// unmapped memory is read as the kernel reads it.
func readUserStr(c *helper.Call, dst []byte, addr uint64) uint64 {
	t := currentTask(c)
	if t == nil || t.Memory == nil || addr > 1<<63 {
		clear(dst)
		return neg(errno.EFAULT)
	}
	limit := len(dst) - 1
	got := 0
	for got < limit {
		chunk := dst[got:min(limit, got+pageSize-int((addr+uint64(got))%pageSize))]
		n, _ := t.Memory.ReadAt(chunk, int64(addr)+int64(got))
		if i := bytes.IndexByte(chunk[:n], 0); i >= 0 {
			clear(dst[got+i+1:])
			return uint64(got + i + 1)
		}
		got += n
		if n < len(chunk) {
			clear(dst)
			return neg(errno.EFAULT)
		}
	}
	dst[limit] = 0
	return uint64(len(dst))
}

// strncmp is bpf_strncmp(s1, s1_sz, s2): the kernel's strncmp(s1, s2,
// s1_sz), which returns -1, 0 or 1.
func strncmp(c *helper.Call) (uint64, error) {
	n := uint64(uint32(c.Args[1]))
	s1, err := c.Read(c.Args[0], n)
	if err != nil {
		return 0, err
	}
	for i := uint64(0); i < n; i++ {
		b, err := c.Read(c.Args[2]+i, 1)
		if err != nil {
			return 0, err
		}
		c1, c2 := s1[i], b[0]
		if c1 != c2 {
			if c1 < c2 {
				return uint64(1<<64 - 1), nil
			}
			return 1, nil
		}
		if c1 == 0 {
			break
		}
	}
	return 0, nil
}

// csumPartial is the kernel's csum_partial on x86-64: a ones' complement
// sum of the buffer in 64-bit little-endian words (the tail in 4-, 2- and
// 1-byte pieces), folded to 32 bits.
func csumPartial(b []byte, sum uint32) uint32 {
	acc := uint64(sum)
	add := func(v uint64) {
		s := acc + v
		if s < acc {
			s++
		}
		acc = s
	}
	for len(b) >= 8 {
		add(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	if len(b) >= 4 {
		add(uint64(binary.LittleEndian.Uint32(b)))
		b = b[4:]
	}
	if len(b) >= 2 {
		add(uint64(binary.LittleEndian.Uint16(b)))
		b = b[2:]
	}
	if len(b) == 1 {
		add(uint64(b[0]))
	}
	return add32(uint32(acc>>32), uint32(acc))
}

// add32 is a 32-bit ones' complement addition.
func add32(a, b uint32) uint32 {
	s := a + b
	if s < a {
		s++
	}
	return s
}

// csumFrom32to16 folds a 32-bit checksum to 16 bits.
func csumFrom32to16(sum uint32) uint32 {
	sum += sum>>16 | sum<<16
	return sum >> 16
}

// csumDiff is bpf_csum_diff(from, from_size, to, to_size, seed) as in Linux
// 6.18: the checksum of to minus the checksum of from, plus seed, folded
// to 16 bits. Any sizes are accepted.
func csumDiff(c *helper.Call) (uint64, error) {
	fromSize, toSize := uint64(uint32(c.Args[1])), uint64(uint32(c.Args[3]))
	seed := uint32(c.Args[4])
	var from, to []byte
	var err error
	if fromSize > 0 {
		if from, err = c.Read(c.Args[0], fromSize); err != nil {
			return 0, err
		}
	}
	if toSize > 0 {
		if to, err = c.Read(c.Args[2], toSize); err != nil {
			return 0, err
		}
	}
	var ret uint32
	switch {
	case fromSize > 0 && toSize > 0:
		ret = add32(csumPartial(to, seed), ^csumPartial(from, 0))
	case toSize > 0:
		ret = csumPartial(to, seed)
	case fromSize > 0:
		ret = ^csumPartial(from, ^seed)
	default:
		ret = seed
	}
	return uint64(csumFrom32to16(ret)), nil
}

// Actions.
const (
	xdpAborted    = 0
	xdpRedirect   = 4
	tcActShot     = 2
	tcActRedirect = 7
	bpfFIngress   = 1 // BPF_F_INGRESS
)

// redirect is bpf_redirect(ifindex, flags): XDP_REDIRECT, or XDP_ABORTED
// with flags; for tc TC_ACT_REDIRECT, or TC_ACT_SHOT with flags other than
// BPF_F_INGRESS. The target is kept in the Run (Run.Redirect).
func redirect(c *helper.Call) (uint64, error) {
	r, err := runOf(c)
	if err != nil {
		return 0, err
	}
	ifindex, flags := uint32(c.Args[0]), c.Args[1]
	if r.kind == kindXDP {
		if flags != 0 {
			return xdpAborted, nil
		}
		r.redirect, r.redirectSet = Redirect{Ifindex: ifindex}, true
		return xdpRedirect, nil
	}
	if flags&^bpfFIngress != 0 {
		return tcActShot, nil
	}
	r.redirect, r.redirectSet = Redirect{Ifindex: ifindex, Flags: flags}, true
	return tcActRedirect, nil
}

// Flags of bpf_redirect_map.
const (
	bpfFBroadcast      = 1 << 3 // BPF_F_BROADCAST
	bpfFExcludeIngress = 1 << 4 // BPF_F_EXCLUDE_INGRESS
	xdpActionMask      = 3      // XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX
)

// redirectMap is bpf_redirect_map(map, key, flags): XDP_REDIRECT when the
// key has an entry in the map (or, for a devmap, with BPF_F_BROADCAST),
// else the low bits of flags; XDP_ABORTED for unknown flags. waggle looks
// the key up in whatever map it is given.
func redirectMap(c *helper.Call) (uint64, error) {
	r, err := runOf(c)
	if err != nil {
		return 0, err
	}
	m, err := mapOf(c.Args[0])
	if err != nil {
		return 0, err
	}
	key, flags := uint32(c.Args[1]), c.Args[2]
	var flagMask uint64
	t := m.Spec().Type
	if t == ebpf.DevMap || t == ebpf.DevMapHash {
		flagMask = bpfFBroadcast | bpfFExcludeIngress
	}
	if flags&^(xdpActionMask|flagMask) != 0 {
		return xdpAborted, nil
	}
	found := false
	if m.Spec().KeySize == 4 {
		var k [4]byte
		binary.NativeEndian.PutUint32(k[:], key)
		if om, ok := m.(maps.ObjectMap); ok {
			found = om.LookupObject(k[:]) != nil
		} else {
			found = m.Lookup(k[:], c.CPU) != nil
		}
	}
	if !found && flags&bpfFBroadcast == 0 {
		return flags & xdpActionMask, nil
	}
	r.redirect, r.redirectSet = Redirect{Ifindex: key, Flags: flags, Map: m}, true
	return xdpRedirect, nil
}

// Flags of bpf_perf_event_output.
const (
	bpfFIndexMask  = 0xffffffff
	bpfFCurrentCPU = 0xffffffff
	bpfFCtxLenMask = 0xfffff << 32
)

// perfEventOutput is bpf_perf_event_output(ctx, map, flags, data, size):
// sends data (and, for XDP and skb programs, the first
// (flags & BPF_F_CTXLEN_MASK) >> 32 bytes of the packet) to Options.PerfOutput
// as the record of slot flags & BPF_F_INDEX_MASK (BPF_F_CURRENT_CPU: the
// run's CPU). Without a PerfOutput the result is -ENOENT, as for a slot
// with no perf event.
func perfEventOutput(c *helper.Call) (uint64, error) {
	m, err := mapOf(c.Args[1])
	if err != nil {
		return 0, err
	}
	if m.Spec().Type != ebpf.PerfEventArray {
		return 0, fmt.Errorf("map %s of type %s is not a perf event array", m.Spec().Name, m.Spec().Type)
	}
	r, _ := c.State.(*Run)
	flags := c.Args[2]
	var pkt [][]byte
	ctxLen := flags & bpfFCtxLenMask >> 32
	if r != nil && (r.kind == kindXDP || r.kind == kindSKB) {
		if flags&^(bpfFIndexMask|bpfFCtxLenMask) != 0 {
			return neg(errno.EINVAL), nil
		}
		var avail uint64
		if r.kind == kindXDP {
			x := &r.xdp
			avail = uint64(x.xdpLen())
			pkt = append([][]byte{x.frame[x.data:x.end]}, x.frags...)
		} else {
			s := &r.skb
			avail = uint64(s.len())
			pkt = [][]byte{s.buf[s.dataOff():s.n]}
		}
		if ctxLen > avail {
			return neg(errno.EFAULT), nil
		}
	} else if flags&^bpfFIndexMask != 0 {
		return neg(errno.EINVAL), nil
	}
	data, err := c.Read(c.Args[3], c.Args[4])
	if err != nil {
		return 0, err
	}
	index := uint32(flags & bpfFIndexMask)
	if index == bpfFCurrentCPU {
		index = uint32(c.CPU)
	}
	if index >= m.Spec().MaxEntries {
		return neg(errno.E2BIG), nil
	}
	if r == nil || r.opts.PerfOutput == nil {
		return neg(errno.ENOENT), nil
	}
	rec := make([]byte, 0, uint64(len(data))+ctxLen)
	rec = append(rec, data...)
	for _, p := range pkt {
		k := min(uint64(len(p)), ctxLen-uint64(len(rec)-len(data)))
		rec = append(rec, p[:k]...)
	}
	if err := r.opts.PerfOutput(PerfRecord{Map: m, Index: index, Data: rec}); err != nil {
		var me *maps.Error
		if errors.As(err, &me) {
			return neg(me.Errno), nil // such as ENOENT: no perf event on the slot
		}
		return 0, fmt.Errorf("perf event output: %w", err)
	}
	return 0, nil
}
