package packet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/waggle-ebpf/waggle"

	"github.com/waggle-ebpf/waggle/internal/errno"
)

// ethHeaderLen is the length of an Ethernet header, which socket filters
// do not see (their data starts at the network header).
const ethHeaderLen = 14

// outputPad is how much larger than its input a packet may come out of a
// run: XDP metadata, bpf_xdp_adjust_head with a negative delta and
// bpf_xdp_adjust_tail growing into the frame's tailroom together stay
// within a page.
const outputPad = 8192

// procMDSize is sizeof(struct xdp_md), the XDP context out.
const procMDSize = 24

// ErrRefused is the error (matched with errors.Is) of a packet that the
// program's type cannot take, as the kernel's test run refuses it: shorter
// than an Ethernet header, larger than a tc or socket filter run takes (a
// page), an IPv4 or IPv6 frame too short for its header (tc, socket
// filter). The program does not run. ProcessPcap counts such packets as
// "skipped" and does not write them.
var ErrRefused = errors.New("the program's type cannot take the packet")

// errShort is ErrRefused for a frame shorter than an Ethernet header,
// allocated once: a capture of runts costs nothing per packet.
var errShort = fmt.Errorf("%w: shorter than an Ethernet header (%d bytes)", ErrRefused, ethHeaderLen)

// ProcessorOptions are the options of every run of a Processor.
type ProcessorOptions struct {
	// Budget is the most instructions one run may execute; 0 means
	// waggle.DefaultBudget.
	Budget uint64
	// Timeout, if not 0, is how long one run may take
	// (waggle.RunOptions.Timeout).
	Timeout time.Duration
	// Context, if not nil, stops a run when it is done.
	Context context.Context
}

// Processor runs a packet program on one packet at a time, reusing its
// buffers: in the steady state a run allocates nothing. A Processor is not
// safe for concurrent use; use one per goroutine (the Program is shared:
// each run takes one of its CPU slots).
type Processor struct {
	prog *waggle.Program
	kind Kind
	run  waggle.RunOptions
	out  []byte // DataOut's buffer
	md   []byte // ContextOut of XDP runs: struct xdp_md
	// mdOut is md as RunOptions.ContextOut takes it, boxed once: storing
	// a slice in an interface allocates.
	mdOut any
}

// NewProcessor prepares runs of prog, which must be an XDP, tc or socket
// filter program.
func NewProcessor(prog *waggle.Program, opts ProcessorOptions) (*Processor, error) {
	kind, err := KindOf(prog)
	if err != nil {
		return nil, err
	}
	p := &Processor{prog: prog, kind: kind, md: make([]byte, procMDSize)}
	p.mdOut = p.md
	p.run.Budget = opts.Budget
	p.run.Timeout = opts.Timeout
	p.run.Cancel = opts.Context
	return p, nil
}

// Kind is the kind of the Processor's program.
func (p *Processor) Kind() Kind { return p.kind }

// Program is the Processor's program.
func (p *Processor) Program() *waggle.Program { return p.prog }

// Verdict runs the program on pkt (an Ethernet frame) and returns its
// verdict, without the cost of copying the packet out. pkt is not changed.
//
// An error is a packet the program's type cannot take (errors.Is
// ErrRefused; the verdict's Action is then Skipped) or a run that failed
// (a *waggle.RunError: a memory fault, the budget exhausted, the context
// done).
func (p *Processor) Verdict(pkt []byte) (Verdict, error) {
	if len(pkt) < ethHeaderLen {
		return Verdict{Action: Skipped}, errShort
	}
	p.run.Data = pkt
	p.run.DataOut = nil
	p.run.ContextOut = nil
	ret, err := p.prog.Run(&p.run)
	p.run.Data = nil
	if err != nil {
		return p.failed(err)
	}
	return p.verdict(ret, len(pkt)), nil
}

// Run runs the program on pkt (an Ethernet frame) and returns its verdict
// and the packet as the program leaves it, whatever the verdict:
//
//   - XDP: the frame from data to data_end after the run, so with
//     bpf_xdp_adjust_head, bpf_xdp_adjust_tail and direct writes applied
//     (metadata is not part of the frame);
//   - tc: the frame after the run (the test run's data out);
//   - socket filter: pkt cut to what the program keeps: the Ethernet
//     header and min(return value, the rest) bytes — a socket filter sees
//     the packet from its network header, so its return value counts from
//     there — and empty for a 0.
//
// The returned packet is valid until the next call; for socket filters it
// is a prefix of pkt. pkt itself is not changed. Errors are those of
// Verdict.
func (p *Processor) Run(pkt []byte) (Verdict, []byte, error) {
	if p.kind == SocketFilter {
		v, err := p.Verdict(pkt)
		if err != nil {
			return v, nil, err
		}
		return v, pkt[:p.kept(v.Return, len(pkt))], nil
	}
	if len(pkt) < ethHeaderLen {
		return Verdict{Action: Skipped}, nil, errShort
	}
	if need := len(pkt) + outputPad; cap(p.out) < need {
		p.out = make([]byte, need)
	}
	p.run.Data = pkt
	p.run.DataOut = p.out[:cap(p.out)]
	if p.kind == XDP {
		p.run.ContextOut = p.mdOut
	} else {
		p.run.ContextOut = nil
	}
	ret, err := p.prog.Run(&p.run)
	p.run.Data = nil
	if err != nil {
		v, err := p.failed(err)
		return v, nil, err
	}
	out := p.run.DataOut
	if p.kind == XDP {
		// The test run's data out starts at data_meta; xdp_md.data is
		// then the length of the metadata.
		if meta := int(binary.NativeEndian.Uint32(p.md)); meta <= len(out) {
			out = out[meta:]
		}
	}
	return p.verdict(ret, len(pkt)), out, nil
}

// verdict reads a return value for a packet of n bytes.
func (p *Processor) verdict(ret uint32, n int) Verdict {
	switch p.kind {
	case XDP:
		return Verdict{Return: ret, Action: xdpAction(ret)}
	case TC:
		return Verdict{Return: ret, Action: tcAction(ret)}
	}
	return Verdict{Return: ret, Action: socketAction(ret, n-ethHeaderLen)}
}

// kept is how many bytes of an n-byte frame a socket filter's return value
// keeps.
func (p *Processor) kept(ret uint32, n int) int {
	if ret == 0 {
		return 0
	}
	return ethHeaderLen + int(min(uint64(ret), uint64(n-ethHeaderLen)))
}

// failed sorts an error of Program.Run: the test run's refusal of the
// input (EINVAL before the program runs) or a failed run.
func (p *Processor) failed(err error) (Verdict, error) {
	var re *waggle.RunError
	if !errors.As(err, &re) && errors.Is(err, errno.EINVAL) {
		return Verdict{Action: Skipped}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return Verdict{}, err
}
