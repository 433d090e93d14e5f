package packet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// LinkType is a capture's link-layer header type (LINKTYPE_*, the pcap
// header's network field, a pcapng interface's LinkType).
type LinkType uint32

// LinkTypeEthernet is LINKTYPE_ETHERNET: the frames start with an Ethernet
// header. It is the only link type whose packets ProcessPcap runs.
const LinkTypeEthernet LinkType = 1

var linkTypeNames = map[LinkType]string{
	0:   "NULL (BSD loopback)",
	1:   "ETHERNET",
	6:   "IEEE802_5 (token ring)",
	9:   "PPP",
	101: "RAW (IP without a link-layer header)",
	105: "IEEE802_11 (802.11 wireless)",
	108: "LOOP (OpenBSD loopback)",
	113: "LINUX_SLL (Linux cooked capture)",
	127: "IEEE802_11_RADIOTAP",
	147: "USER0",
	195: "IEEE802_15_4",
	220: "USBPCAP",
	228: "IPV4",
	229: "IPV6",
	239: "NFLOG",
	249: "USB_LINUX_MMAPPED",
	276: "LINUX_SLL2 (Linux cooked capture v2)",
}

// String is the link type's number and LINKTYPE_ name: "113
// (LINUX_SLL (Linux cooked capture))".
func (l LinkType) String() string {
	if n, ok := linkTypeNames[l]; ok {
		return fmt.Sprintf("%d (%s)", uint32(l), n)
	}
	return fmt.Sprintf("%d", uint32(l))
}

// Format is a capture file format.
type Format uint8

// The formats Reader reads.
const (
	// Pcap is the classic libpcap format, microsecond or nanosecond
	// timestamps, either byte order.
	Pcap Format = iota + 1
	// PcapNG is the pcapng format (sections, interfaces, enhanced, simple
	// and obsolete packet blocks; other blocks are skipped).
	PcapNG
)

// String returns "pcap" or "pcapng".
func (f Format) String() string {
	switch f {
	case Pcap:
		return "pcap"
	case PcapNG:
		return "pcapng"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// MaxRecordSize is the largest record (pcap packet record, pcapng block)
// that Reader accepts; a larger length in a header means a corrupt file.
const MaxRecordSize = 16 << 20

// FormatError is a capture file that Reader cannot read: corrupt,
// truncated, or a format it does not know. Truncated files match
// io.ErrUnexpectedEOF with errors.Is.
type FormatError struct {
	// Record is the number (from 1) of the packet record being read, or 0
	// for the file's header.
	Record int64
	// Offset is the byte offset of the record or block in the file.
	Offset int64
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any: io.ErrUnexpectedEOF for a
	// truncated file, or the reader's error.
	Err error
}

// Error returns "record 1234 at byte 56789: MSG" ("pcap header: MSG" for
// the file's header).
func (e *FormatError) Error() string {
	if e.Record == 0 {
		return e.Msg
	}
	return fmt.Sprintf("record %d at byte %d: %s", e.Record, e.Offset, e.Msg)
}

// Unwrap returns Err.
func (e *FormatError) Unwrap() error { return e.Err }

// Record is one packet of a capture.
type Record struct {
	// Data is the captured bytes. It is valid until the next call of
	// Reader.Next.
	Data []byte
	// Length is the packet's length on the wire, which is more than
	// len(Data) when the capture cut it (snaplen).
	Length int
	// Timestamp is when the packet was captured.
	Timestamp time.Time
	// LinkType is the link type of the packet's interface.
	LinkType LinkType
	// Number is the packet's number in the file, from 1.
	Number int64
	// Offset is the byte offset of the packet's record in the file.
	Offset int64
}

// ngIface is a pcapng interface.
type ngIface struct {
	link    LinkType
	snaplen uint32
	// Timestamps are ticks of 10^-exp seconds (pow10) or 2^-exp seconds.
	exp    uint8
	pow10  bool
	offset int64 // if_tsoffset, seconds
}

// Reader reads the packets of a pcap or pcapng stream. It reads in large
// blocks into one buffer and hands out records that point into it, so that
// reading allocates nothing per packet.
type Reader struct {
	src    io.Reader
	buf    []byte
	r, w   int   // the unread bytes are buf[r:w]
	off    int64 // file offset of buf[r]
	eof    bool  // src returned io.EOF
	zeros  int   // consecutive reads of 0 bytes without an error
	srcErr error // src's error other than io.EOF
	format Format
	big    bool // big-endian file (pcap) or section (pcapng)
	n      int64

	// pcap
	nano    bool
	snaplen uint32
	link    LinkType

	// pcapng
	ifaces []ngIface
}

const (
	readBufSize      = 256 << 10
	pcapHeaderLen    = 24
	pcapRecordHdrLen = 16

	magicMicro       = 0xa1b2c3d4
	magicNano        = 0xa1b23c4d
	magicKuznetzov   = 0xa1b2cd34
	ngSectionHeader  = 0x0a0d0d0a
	ngByteOrderMagic = 0x1a2b3c4d
	ngInterface      = 1
	ngPacketObsolete = 2
	ngSimplePacket   = 3
	ngEnhancedPacket = 6
)

// NewReader reads the header of a pcap or pcapng stream (the format is
// told by its first bytes) and returns a Reader of its packets.
func NewReader(src io.Reader) (*Reader, error) {
	rd := &Reader{src: src, buf: make([]byte, readBufSize)}
	if err := rd.fill(4); err != nil {
		return nil, rd.headerErr(err, "the file ends in its first 4 bytes (%d bytes): not a pcap or pcapng file", rd.w-rd.r)
	}
	head := rd.buf[rd.r : rd.r+4]
	le, be := binary.LittleEndian.Uint32(head), binary.BigEndian.Uint32(head)
	switch {
	case le == magicMicro || be == magicMicro || le == magicNano || be == magicNano:
		return rd, rd.pcapHeader()
	case le == ngSectionHeader:
		rd.format = PcapNG
		return rd, rd.ngFirstSection()
	case le == magicKuznetzov || be == magicKuznetzov:
		return nil, &FormatError{Msg: "pcap header: the modified (Kuznetzov) pcap format is not supported"}
	}
	return nil, &FormatError{Msg: fmt.Sprintf("not a pcap or pcapng file: it starts with % x", head)}
}

// headerErr is the error of a file that ends or fails in its header.
func (rd *Reader) headerErr(err error, format string, args ...any) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{Msg: fmt.Sprintf(format, args...), Err: err}
	}
	return &FormatError{Msg: "read: " + err.Error(), Err: err}
}

// Format is the stream's format.
func (rd *Reader) Format() Format { return rd.format }

// LinkType is the link type of a pcap file, or of the first interface of
// a pcapng file (0 before one was read). Every Record carries its own.
func (rd *Reader) LinkType() LinkType {
	if rd.format == PcapNG {
		if len(rd.ifaces) == 0 {
			return 0
		}
		return rd.ifaces[0].link
	}
	return rd.link
}

// Snaplen is the pcap header's snapshot length, or the first pcapng
// interface's (0: none).
func (rd *Reader) Snaplen() uint32 {
	if rd.format == PcapNG {
		if len(rd.ifaces) == 0 {
			return 0
		}
		return rd.ifaces[0].snaplen
	}
	return rd.snaplen
}

// Nanosecond reports whether the stream's timestamps may be finer than a
// microsecond: a nanosecond pcap file, or a pcapng file.
func (rd *Reader) Nanosecond() bool { return rd.format == PcapNG || rd.nano }

// Offset is the number of bytes of the stream read so far: the offset of
// the next record.
func (rd *Reader) Offset() int64 { return rd.off }

func (rd *Reader) u16(b []byte) uint16 {
	if rd.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (rd *Reader) u32(b []byte) uint32 {
	if rd.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// fill makes at least n bytes available in buf[r:w], growing buf if it
// must. It returns io.ErrUnexpectedEOF if the stream ends first (buf[r:w]
// then holds what there was), or the stream's error.
func (rd *Reader) fill(n int) error {
	if rd.w-rd.r >= n {
		return nil
	}
	if n > len(rd.buf)-rd.r {
		if n > len(rd.buf) {
			nb := make([]byte, max(n, 2*len(rd.buf)))
			rd.w = copy(nb, rd.buf[rd.r:rd.w])
			rd.buf = nb
		} else {
			rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		}
		rd.r = 0
	}
	for rd.w-rd.r < n {
		if rd.srcErr != nil {
			return rd.srcErr
		}
		if rd.eof {
			return io.ErrUnexpectedEOF
		}
		m, err := rd.src.Read(rd.buf[rd.w:])
		if m < 0 || m > len(rd.buf)-rd.w {
			rd.srcErr = fmt.Errorf("the reader returned %d bytes", m)
			continue
		}
		rd.w += m
		switch {
		case err == io.EOF:
			rd.eof = true
		case err != nil:
			rd.srcErr = err
		case m == 0:
			// As bufio does, give up on a reader that keeps returning
			// nothing.
			if rd.zeros++; rd.zeros >= 100 {
				rd.srcErr = io.ErrNoProgress
			}
		default:
			rd.zeros = 0
		}
	}
	return nil
}

// atEOF reports whether the stream has no more bytes.
func (rd *Reader) atEOF() (bool, error) {
	if rd.w > rd.r {
		return false, nil
	}
	err := rd.fill(1)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return true, nil
	}
	return false, err
}

// skip consumes n buffered bytes.
func (rd *Reader) skip(n int) {
	rd.r += n
	rd.off += int64(n)
}

func (rd *Reader) pcapHeader() error {
	rd.format = Pcap
	if err := rd.fill(pcapHeaderLen); err != nil {
		return rd.headerErr(err, "pcap header: the file ends after %d of its 24 bytes", rd.w-rd.r)
	}
	h := rd.buf[rd.r : rd.r+pcapHeaderLen]
	magic := binary.LittleEndian.Uint32(h)
	if magic != magicMicro && magic != magicNano {
		rd.big = true
		magic = binary.BigEndian.Uint32(h)
	}
	rd.nano = magic == magicNano
	if major := rd.u16(h[4:]); major != 2 {
		return &FormatError{Msg: fmt.Sprintf("pcap header: version %d.%d is not 2.x", major, rd.u16(h[6:]))}
	}
	rd.snaplen = rd.u32(h[16:])
	// The upper bits of the field carry FCS information.
	rd.link = LinkType(rd.u32(h[20:]) & 0x03ffffff)
	rd.skip(pcapHeaderLen)
	return nil
}

// Next returns the next packet, or io.EOF after the last one. Other errors
// are *FormatError (or the stream's error); the Reader is of no use after
// one.
func (rd *Reader) Next() (Record, error) {
	if rd.format == PcapNG {
		return rd.ngNext()
	}
	if end, err := rd.atEOF(); end || err != nil {
		if err != nil {
			return Record{}, rd.recordErr(rd.off, err, "")
		}
		return Record{}, io.EOF
	}
	start := rd.off
	if err := rd.fill(pcapRecordHdrLen); err != nil {
		return Record{}, rd.recordErr(start, err, fmt.Sprintf("the file ends after %d of the record header's 16 bytes", rd.w-rd.r))
	}
	h := rd.buf[rd.r : rd.r+pcapRecordHdrLen]
	sec, frac := rd.u32(h), rd.u32(h[4:])
	caplen, length := rd.u32(h[8:]), rd.u32(h[12:])
	if caplen > MaxRecordSize {
		return Record{}, &FormatError{Record: rd.n + 1, Offset: start,
			Msg: fmt.Sprintf("captured length %d is more than %d: the file is corrupt", caplen, MaxRecordSize)}
	}
	need := pcapRecordHdrLen + int(caplen)
	if err := rd.fill(need); err != nil {
		return Record{}, rd.recordErr(start, err, fmt.Sprintf("the file ends after %d of the record's %d captured bytes", rd.w-rd.r-pcapRecordHdrLen, caplen))
	}
	nsec := int64(frac)
	if !rd.nano {
		nsec *= 1000
	}
	rd.n++
	rec := Record{
		Data:      rd.buf[rd.r+pcapRecordHdrLen : rd.r+need : rd.r+need],
		Length:    int(length),
		Timestamp: time.Unix(int64(sec), nsec),
		LinkType:  rd.link,
		Number:    rd.n,
		Offset:    start,
	}
	rd.skip(need)
	return rec, nil
}

// recordErr is the error of the next record, which starts at offset.
func (rd *Reader) recordErr(offset int64, err error, msg string) error {
	fe := &FormatError{Record: rd.n + 1, Offset: offset, Msg: msg, Err: err}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		fe.Msg = "read: " + err.Error()
	}
	return fe
}

// ngFirstSection reads the section header block that starts a pcapng
// stream.
func (rd *Reader) ngFirstSection() error {
	if err := rd.fill(12); err != nil {
		return rd.headerErr(err, "pcapng section header: the file ends after %d bytes", rd.w-rd.r)
	}
	_, err := rd.ngBlock()
	return err
}

// ngNext reads blocks until a packet.
func (rd *Reader) ngNext() (Record, error) {
	for {
		if end, err := rd.atEOF(); end || err != nil {
			if err != nil {
				return Record{}, rd.recordErr(rd.off, err, "")
			}
			return Record{}, io.EOF
		}
		rec, err := rd.ngBlock()
		if err != nil || rec.Data != nil {
			return rec, err
		}
	}
}

// ngBlock reads one block. A packet block gives a Record with non-nil
// Data; other blocks give a zero Record.
func (rd *Reader) ngBlock() (Record, error) {
	start := rd.off
	fail := func(format string, args ...any) (Record, error) {
		return Record{}, &FormatError{Record: rd.n + 1, Offset: start, Msg: fmt.Sprintf(format, args...)}
	}
	if err := rd.fill(8); err != nil {
		return Record{}, rd.recordErr(start, err, fmt.Sprintf("the file ends after %d of a block header's 8 bytes", rd.w-rd.r))
	}
	typ := binary.LittleEndian.Uint32(rd.buf[rd.r:]) // the section header's type reads the same both ways
	if typ == ngSectionHeader {
		if err := rd.fill(12); err != nil {
			return Record{}, rd.recordErr(start, err, fmt.Sprintf("the file ends after %d of a section header's first 12 bytes", rd.w-rd.r))
		}
		switch magic := rd.buf[rd.r+8 : rd.r+12]; {
		case binary.LittleEndian.Uint32(magic) == ngByteOrderMagic:
			rd.big = false
		case binary.BigEndian.Uint32(magic) == ngByteOrderMagic:
			rd.big = true
		default:
			return fail("section header: byte-order magic % x is not 1a2b3c4d", magic)
		}
	} else {
		typ = rd.u32(rd.buf[rd.r:])
	}
	total := rd.u32(rd.buf[rd.r+4:])
	if total < 12 || total%4 != 0 || total > MaxRecordSize {
		return fail("block of type %#x: length %d is not a multiple of 4 between 12 and %d", typ, total, MaxRecordSize)
	}
	if err := rd.fill(int(total)); err != nil {
		return Record{}, rd.recordErr(start, err, fmt.Sprintf("the file ends after %d of the block's %d bytes (type %#x)", rd.w-rd.r, total, typ))
	}
	b := rd.buf[rd.r : rd.r+int(total)]
	if trailer := rd.u32(b[total-4:]); trailer != total {
		return fail("block of type %#x: its length is %d at its start and %d at its end", typ, total, trailer)
	}
	body := b[8 : total-4]
	var rec Record
	var err error
	switch typ {
	case ngSectionHeader:
		err = rd.ngSection(body)
	case ngInterface:
		err = rd.ngInterface(body)
	case ngEnhancedPacket, ngPacketObsolete, ngSimplePacket:
		rec, err = rd.ngPacket(typ, body)
		rec.Offset = start
	}
	if err != nil {
		return fail("%v", err)
	}
	if rec.Data != nil {
		rd.n++
		rec.Number = rd.n
	}
	rd.skip(int(total))
	return rec, nil
}

func (rd *Reader) ngSection(body []byte) error {
	if len(body) < 16 {
		return fmt.Errorf("section header: %d bytes of body, fewer than 16", len(body))
	}
	if major := rd.u16(body[4:]); major != 1 {
		return fmt.Errorf("section header: pcapng version %d.%d is not 1.x", major, rd.u16(body[6:]))
	}
	rd.ifaces = rd.ifaces[:0]
	return nil
}

func (rd *Reader) ngInterface(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("interface description: %d bytes of body, fewer than 8", len(body))
	}
	ifc := ngIface{link: LinkType(rd.u16(body)), snaplen: rd.u32(body[4:]), exp: 6, pow10: true}
	opts := body[8:]
	for len(opts) >= 4 {
		code, n := rd.u16(opts), int(rd.u16(opts[2:]))
		if code == 0 { // opt_endofopt
			break
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(opts) {
			return fmt.Errorf("interface description: option %d of %d bytes runs past the block", code, n)
		}
		v := opts[4 : 4+n]
		switch code {
		case 9: // if_tsresol
			if n != 1 {
				return fmt.Errorf("interface description: if_tsresol has %d bytes, not 1", n)
			}
			ifc.pow10 = v[0]&0x80 == 0
			ifc.exp = v[0] & 0x7f
			if (ifc.pow10 && ifc.exp > 19) || (!ifc.pow10 && ifc.exp > 63) {
				return fmt.Errorf("interface description: if_tsresol %#x is finer than 64-bit timestamps can count", v[0])
			}
		case 14: // if_tsoffset
			if n != 8 {
				return fmt.Errorf("interface description: if_tsoffset has %d bytes, not 8", n)
			}
			if rd.big {
				ifc.offset = int64(binary.BigEndian.Uint64(v))
			} else {
				ifc.offset = int64(binary.LittleEndian.Uint64(v))
			}
		}
		opts = opts[4+padded:]
	}
	rd.ifaces = append(rd.ifaces, ifc)
	return nil
}

var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// timestamp converts ticks of an interface's resolution.
func (ifc *ngIface) timestamp(ticks uint64) time.Time {
	var sec, nsec uint64
	switch {
	case ifc.pow10 && ifc.exp <= 9:
		unit := pow10[ifc.exp]
		sec, nsec = ticks/unit, ticks%unit*pow10[9-ifc.exp]
	case ifc.pow10:
		unit := pow10[ifc.exp]
		sec, nsec = ticks/unit, ticks%unit/pow10[ifc.exp-9]
	case ifc.exp == 0:
		sec = ticks
	default:
		k := uint(ifc.exp)
		sec = ticks >> k
		hi, lo := bits.Mul64(ticks&(1<<k-1), 1e9)
		nsec = hi<<(64-k) | lo>>k
	}
	return time.Unix(int64(sec)+ifc.offset, int64(nsec))
}

func (rd *Reader) ngPacket(typ uint32, body []byte) (Record, error) {
	var ifIndex, caplen, length uint32
	var ticks uint64
	var data []byte
	switch typ {
	case ngEnhancedPacket, ngPacketObsolete:
		if len(body) < 20 {
			return Record{}, fmt.Errorf("packet block: %d bytes of body, fewer than 20", len(body))
		}
		if typ == ngEnhancedPacket {
			ifIndex = rd.u32(body)
		} else {
			ifIndex = uint32(rd.u16(body))
		}
		ticks = uint64(rd.u32(body[4:]))<<32 | uint64(rd.u32(body[8:]))
		caplen, length = rd.u32(body[12:]), rd.u32(body[16:])
		if uint64(caplen) > uint64(len(body)-20) {
			return Record{}, fmt.Errorf("packet block: captured length %d is more than the block's %d bytes of data", caplen, len(body)-20)
		}
		data = body[20 : 20+caplen]
	case ngSimplePacket:
		if len(body) < 4 {
			return Record{}, fmt.Errorf("simple packet block: %d bytes of body, fewer than 4", len(body))
		}
		length = rd.u32(body)
		caplen = min(length, uint32(len(body)-4))
		if len(rd.ifaces) > 0 && rd.ifaces[0].snaplen != 0 {
			caplen = min(caplen, rd.ifaces[0].snaplen)
		}
		data = body[4 : 4+caplen]
	}
	if int(ifIndex) >= len(rd.ifaces) {
		return Record{}, fmt.Errorf("packet of interface %d, but the section describes %d interfaces", ifIndex, len(rd.ifaces))
	}
	ifc := &rd.ifaces[ifIndex]
	rec := Record{Data: data[:len(data):len(data)], Length: int(length), LinkType: ifc.link}
	if typ == ngSimplePacket {
		rec.Timestamp = time.Unix(0, 0) // a simple packet block has none
	} else {
		rec.Timestamp = ifc.timestamp(ticks)
	}
	return rec, nil
}
