package packet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/waggle-ebpf/waggle"
)

// Options control ProcessPcap.
type Options struct {
	// Workers is the number of goroutines that run the program, each with
	// its own Processor; 0 or 1 runs every packet on the calling
	// goroutine. The output is in input order whatever the number.
	Workers int
	// Progress, if not nil, is called from one goroutine as the input is
	// processed (after every batch of packets, and once at the end) with
	// the bytes of the input processed so far and the input's size, or 0
	// when the size is not known (the size is known for regular files
	// and for readers with a Len or Size method).
	Progress func(done, total int64)
	// Budget is the most instructions one run may execute; 0 means
	// waggle.DefaultBudget.
	Budget uint64
	// Timeout, if not 0, is how long one run may take
	// (waggle.RunOptions.Timeout).
	Timeout time.Duration
	// Context, if not nil, stops the processing when it is done; the
	// error then matches its error.
	Context context.Context
}

// Stats are the result of ProcessPcap.
type Stats struct {
	// Packets is the number of packets processed, Bytes their captured
	// bytes.
	Packets, Bytes uint64
	// Verdicts counts the packets by the name of their verdict's action
	// (Action.String: "pass", "drop", "tx", ..., "skipped"); names with
	// no packet are absent.
	Verdicts map[string]uint64
	// Written is the number of packets written to the output.
	Written uint64
	// LastReturn is the return value of the program on the last packet
	// of the input that it ran on.
	LastReturn uint32
	// Workers is the number of goroutines that ran the program.
	Workers int
	// Duration is the wall-clock time of the whole processing: reading,
	// running, writing.
	Duration time.Duration
	// NsPerPacket is Duration divided by Packets, and PacketsPerSecond
	// Packets divided by Duration: the throughput of all workers
	// together.
	NsPerPacket, PacketsPerSecond float64
}

// ProcessPcap runs prog, an XDP, tc or socket filter program, on every
// packet of a pcap or pcapng capture read from in (whose link type must be
// Ethernet), and writes to out (nil: no output) a pcap file of the packets
// that the program lets through (Action.Passes: XDP_PASS and XDP_TX, the
// tc actions that let the packet continue, what a socket filter keeps) as
// the program left them (Processor.Run), with their original timestamps,
// in input order. The output has nanosecond timestamps when the input may
// have them (nanosecond pcap, pcapng), else microseconds.
//
// Packets that the program's type cannot take (ErrRefused) are counted as
// "skipped". Any other failure stops the processing with an error that
// names the record ("record 1234 at byte 56789: ..."): a truncated or
// corrupt capture or a packet of another link type (a *FormatError), a
// run that failed or the output's error (a *RecordError, wrapping the
// *waggle.RunError). The Stats then describe the packets before it, which
// were written; they are nil only when the input's header cannot be read.
func ProcessPcap(prog *waggle.Program, in io.Reader, out io.Writer, opts Options) (*Stats, error) {
	start := time.Now()
	if _, err := KindOf(prog); err != nil {
		return nil, err
	}
	total := inputSize(in)
	rd, err := NewReader(in)
	if err != nil {
		return nil, err
	}
	if rd.Format() == Pcap && rd.LinkType() != LinkTypeEthernet {
		return nil, linkTypeErr(rd.LinkType(), 0, 0)
	}
	p := &pipeline{prog: prog, rd: rd, opts: opts, total: total}
	if out != nil {
		wopts := WriterOptions{Snaplen: max(rd.Snaplen(), DefaultSnaplen), Nanosecond: rd.Nanosecond()}
		if p.w, err = NewWriter(out, wopts); err != nil {
			return nil, fmt.Errorf("write output: %w", err)
		}
	}
	p.stats.Workers = max(opts.Workers, 1)
	if p.stats.Workers == 1 {
		err = p.sequential()
	} else {
		err = p.parallel(p.stats.Workers)
	}
	if p.w != nil {
		if ferr := p.w.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write output: %w", ferr)
		}
	}
	if err == nil && opts.Progress != nil {
		opts.Progress(rd.Offset(), total)
	}
	return p.finish(start), err
}

// linkTypeErr explains a capture that is not Ethernet.
func linkTypeErr(l LinkType, number, offset int64) error {
	msg := fmt.Sprintf("link type %s is not Ethernet (1): XDP, tc and socket filter programs run on Ethernet frames", l)
	if number == 0 {
		return &FormatError{Msg: "pcap header: " + msg}
	}
	return &FormatError{Record: number, Offset: offset, Msg: msg}
}

// inputSize is the size of in when it can be known without reading it.
func inputSize(in io.Reader) int64 {
	switch v := in.(type) {
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			if s, ok := in.(io.Seeker); ok {
				if cur, err := s.Seek(0, io.SeekCurrent); err == nil && cur <= fi.Size() {
					return fi.Size() - cur
				}
			}
			return fi.Size()
		}
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Size() int64 }:
		return v.Size()
	}
	return 0
}

// RecordError is a failure at one packet of a capture: a run that failed
// (Err is then a *waggle.RunError) or the output's error.
type RecordError struct {
	// Record is the packet's number in the capture, from 1.
	Record int64
	// Offset is the byte offset of the packet's record in the capture.
	Offset int64
	// Err is what failed.
	Err error
}

// Error returns "record 1234 at byte 56789: ERR".
func (e *RecordError) Error() string {
	return fmt.Sprintf("record %d at byte %d: %v", e.Record, e.Offset, e.Err)
}

// Unwrap returns Err.
func (e *RecordError) Unwrap() error { return e.Err }

// pipeline is one ProcessPcap.
type pipeline struct {
	prog  *waggle.Program
	rd    *Reader
	w     *Writer
	opts  Options
	total int64

	counts [numActions]uint64
	stats  Stats
}

func (p *pipeline) processor() (*Processor, error) {
	return NewProcessor(p.prog, ProcessorOptions{Budget: p.opts.Budget, Timeout: p.opts.Timeout, Context: p.opts.Context})
}

// progressEvery is how many packets the sequential loop processes between
// calls of Options.Progress and checks of Options.Context.
const progressEvery = 256

// sequential runs every packet on this goroutine.
func (p *pipeline) sequential() error {
	proc, err := p.processor()
	if err != nil {
		return err
	}
	for {
		rec, err := p.rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.LinkType != LinkTypeEthernet {
			return linkTypeErr(rec.LinkType, rec.Number, rec.Offset)
		}
		var v Verdict
		var pkt []byte
		if p.w != nil {
			v, pkt, err = proc.Run(rec.Data)
		} else {
			v, err = proc.Verdict(rec.Data)
		}
		if err != nil && !errors.Is(err, ErrRefused) {
			return &RecordError{Record: rec.Number, Offset: rec.Offset, Err: err}
		}
		if err := p.count(&rec, v, pkt); err != nil {
			return err
		}
		if p.stats.Packets%progressEvery == 0 {
			if p.opts.Progress != nil {
				p.opts.Progress(p.rd.Offset(), p.total)
			}
			if ctx := p.opts.Context; ctx != nil && ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
}

// count adds a processed packet to the statistics and writes its output.
func (p *pipeline) count(rec *Record, v Verdict, pkt []byte) error {
	p.stats.Packets++
	p.stats.Bytes += uint64(len(rec.Data))
	p.counts[v.Action]++
	if v.Action == Skipped {
		return nil
	}
	p.stats.LastReturn = v.Return
	if p.w == nil || !v.Action.Passes() {
		return nil
	}
	// The length on the wire changes with the packet, except where a
	// socket filter cuts it, which is a capture's snaplen.
	length := rec.Length
	if v.Action != SocketKeep && v.Action != SocketTruncate {
		length = len(pkt) + max(rec.Length-len(rec.Data), 0)
	}
	if err := p.w.WritePacket(rec.Timestamp, pkt, length); err != nil {
		return &RecordError{Record: rec.Number, Offset: rec.Offset, Err: fmt.Errorf("write output: %w", err)}
	}
	p.stats.Written++
	return nil
}

func (p *pipeline) finish(start time.Time) *Stats {
	s := p.stats
	s.Duration = time.Since(start)
	s.Verdicts = map[string]uint64{}
	for a, n := range p.counts {
		if n != 0 {
			s.Verdicts[Action(a).String()] += n
		}
	}
	if s.Packets > 0 && s.Duration > 0 {
		s.NsPerPacket = float64(s.Duration.Nanoseconds()) / float64(s.Packets)
		s.PacketsPerSecond = float64(s.Packets) / s.Duration.Seconds()
	}
	return &s
}

// Batches: the reading goroutine copies up to batchPackets packets (or
// batchBytes bytes) into a batch, a worker runs them, and this goroutine
// counts and writes the batches in input order.
const (
	batchPackets = 256
	batchBytes   = 256 << 10
)

type batch struct {
	seq     int
	data    []byte // the input packets, back to back
	out     []byte // the output packets, back to back
	recs    []batchRecord
	end     int64 // the input's offset after the batch
	err     error // a run's failure, at recs[errAt]
	errAt   int
	readErr error // what ended the reading after recs (io.EOF: the end)
}

type batchRecord struct {
	rec      Record // Data is nil: the bytes are data[off:off+n]
	off, n   int
	verdict  Verdict
	out, len int // the output packet is out[out:out+len]
}

func (b *batch) reset(seq int) {
	b.seq = seq
	b.data, b.out, b.recs = b.data[:0], b.out[:0], b.recs[:0]
	b.err, b.errAt, b.readErr = nil, 0, nil
}

// parallel runs the packets on workers goroutines.
func (p *pipeline) parallel(workers int) error {
	procs := make([]*Processor, workers)
	for i := range procs {
		proc, err := p.processor()
		if err != nil {
			return err
		}
		procs[i] = proc
	}
	nb := 4 * workers
	free := make(chan *batch, nb)
	work := make(chan *batch, nb)
	done := make(chan *batch, nb)
	quit := make(chan struct{})
	for range nb {
		b := &batch{data: make([]byte, 0, batchBytes+2048), recs: make([]batchRecord, 0, batchPackets)}
		if p.w != nil {
			b.out = make([]byte, 0, batchBytes+2048)
		}
		free <- b
	}

	// Read.
	go func() {
		defer close(work)
		for seq := 0; ; seq++ {
			var b *batch
			select {
			case b = <-free:
			case <-quit:
				return
			}
			b.reset(seq)
			for len(b.recs) < batchPackets && len(b.data) < batchBytes {
				rec, err := p.rd.Next()
				if err != nil {
					b.readErr = err
					break
				}
				if rec.LinkType != LinkTypeEthernet {
					b.readErr = linkTypeErr(rec.LinkType, rec.Number, rec.Offset)
					break
				}
				br := batchRecord{rec: rec, off: len(b.data), n: len(rec.Data)}
				br.rec.Data = nil
				b.data = append(b.data, rec.Data...)
				b.recs = append(b.recs, br)
			}
			if ctx := p.opts.Context; ctx != nil && b.readErr == nil && ctx.Err() != nil {
				b.readErr = ctx.Err()
			}
			b.end = p.rd.Offset()
			work <- b // never blocks: work holds every batch
			if b.readErr != nil {
				return
			}
		}
	}()

	// Run.
	var wg sync.WaitGroup
	for _, proc := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				p.runBatch(proc, b)
				done <- b // never blocks: done holds every batch
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()

	// Count and write, in order.
	pending := make([]*batch, nb)
	next := 0
	var failure error
	finished := false
	for b := range done {
		if failure != nil || finished {
			continue
		}
		pending[b.seq%nb] = b
		for {
			b := pending[next%nb]
			if b == nil || b.seq != next {
				break
			}
			pending[next%nb] = nil
			next++
			if err := p.consume(b); err != nil {
				failure = err
				close(quit)
				break
			}
			if b.readErr != nil {
				if b.readErr != io.EOF {
					failure = b.readErr
				}
				finished = true
				break
			}
			free <- b // never blocks: free holds every batch
		}
	}
	return failure
}

// runBatch runs the program on a batch's packets.
func (p *pipeline) runBatch(proc *Processor, b *batch) {
	for i := range b.recs {
		br := &b.recs[i]
		pkt := b.data[br.off : br.off+br.n : br.off+br.n]
		var v Verdict
		var out []byte
		var err error
		if p.w != nil {
			v, out, err = proc.Run(pkt)
		} else {
			v, err = proc.Verdict(pkt)
		}
		if err != nil && !errors.Is(err, ErrRefused) {
			b.err, b.errAt = &RecordError{Record: br.rec.Number, Offset: br.rec.Offset, Err: err}, i
			return
		}
		br.verdict = v
		br.out, br.len = len(b.out), 0
		if p.w != nil && v.Action.Passes() {
			b.out = append(b.out, out...)
			br.len = len(out)
		}
	}
}

// consume counts and writes a batch's packets.
func (p *pipeline) consume(b *batch) error {
	n := len(b.recs)
	if b.err != nil {
		n = b.errAt
	}
	for i := range n {
		br := &b.recs[i]
		rec := br.rec
		rec.Data = b.data[br.off : br.off+br.n]
		if err := p.count(&rec, br.verdict, b.out[br.out:br.out+br.len]); err != nil {
			return err
		}
	}
	if b.err != nil {
		return b.err
	}
	if p.opts.Progress != nil {
		p.opts.Progress(b.end, p.total)
	}
	return nil
}
