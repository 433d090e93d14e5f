package packet

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// DefaultSnaplen is the snapshot length Writer puts in its header when
// WriterOptions.Snaplen is 0: libpcap's largest, tcpdump's default.
const DefaultSnaplen = 262144

// WriterOptions describe the pcap file a Writer writes.
type WriterOptions struct {
	// LinkType is the header's link type; 0 means LinkTypeEthernet.
	LinkType LinkType
	// Snaplen is the header's snapshot length; 0 means DefaultSnaplen.
	Snaplen uint32
	// Nanosecond selects nanosecond timestamps (magic a1b23c4d) instead
	// of microseconds.
	Nanosecond bool
}

// Writer writes packets to a pcap file (little endian, version 2.4),
// buffered: call Flush at the end.
type Writer struct {
	w    *bufio.Writer
	nano bool
	hdr  [pcapRecordHdrLen]byte
}

// NewWriter writes a pcap file header to w and returns a Writer for the
// packets.
func NewWriter(w io.Writer, opts WriterOptions) (*Writer, error) {
	pw := &Writer{w: bufio.NewWriterSize(w, 256<<10), nano: opts.Nanosecond}
	if opts.LinkType == 0 {
		opts.LinkType = LinkTypeEthernet
	}
	if opts.Snaplen == 0 {
		opts.Snaplen = DefaultSnaplen
	}
	var h [pcapHeaderLen]byte
	magic := uint32(magicMicro)
	if opts.Nanosecond {
		magic = magicNano
	}
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], opts.Snaplen)
	binary.LittleEndian.PutUint32(h[20:], uint32(opts.LinkType))
	if _, err := pw.w.Write(h[:]); err != nil {
		return nil, err
	}
	return pw, nil
}

// WritePacket writes one packet record: its timestamp (to the microsecond
// or nanosecond), its bytes, and its length on the wire (at least
// len(data); smaller values are raised to it).
func (pw *Writer) WritePacket(ts time.Time, data []byte, length int) error {
	if len(data) > MaxRecordSize {
		return fmt.Errorf("write packet: %d bytes is more than %d", len(data), MaxRecordSize)
	}
	length = max(length, len(data))
	frac := uint32(ts.Nanosecond())
	if !pw.nano {
		frac /= 1000
	}
	binary.LittleEndian.PutUint32(pw.hdr[0:], uint32(ts.Unix()))
	binary.LittleEndian.PutUint32(pw.hdr[4:], frac)
	binary.LittleEndian.PutUint32(pw.hdr[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(pw.hdr[12:], uint32(min(length, 1<<32-1)))
	if _, err := pw.w.Write(pw.hdr[:]); err != nil {
		return err
	}
	_, err := pw.w.Write(data)
	return err
}

// Flush writes what is buffered.
func (pw *Writer) Flush() error { return pw.w.Flush() }
