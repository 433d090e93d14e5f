package packet_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/waggle-ebpf/waggle/packet"
)

// The captures of testdata: lo.pcapng was captured by dumpcap on the
// loopback device (UDP to a closed port and the ICMP errors); lo.pcap,
// lo-ns.pcap, lo-us.pcapng (with a packet comment) and sll.pcap (relabelled
// LINUX_SLL) are editcap's conversions of it; lo-be.pcap and lo-be.pcapng
// (big endian, 2^-20 s timestamps, a name resolution and an interface
// statistics block) were written by a Python script from the format
// specifications. Each FILE.golden is what tshark reads in FILE: number,
// time, length, captured length, and the bytes.
var readerFiles = []struct {
	file   string
	format packet.Format
	link   packet.LinkType
	nano   bool
}{
	{"lo.pcapng", packet.PcapNG, packet.LinkTypeEthernet, true},
	{"lo.pcap", packet.Pcap, packet.LinkTypeEthernet, false},
	{"lo-ns.pcap", packet.Pcap, packet.LinkTypeEthernet, true},
	{"lo-us.pcapng", packet.PcapNG, packet.LinkTypeEthernet, true},
	{"sll.pcap", packet.Pcap, 113, false},
	{"lo-be.pcap", packet.Pcap, packet.LinkTypeEthernet, false},
	{"lo-be.pcapng", packet.PcapNG, packet.LinkTypeEthernet, true},
}

func TestReaderFiles(t *testing.T) {
	for _, tc := range readerFiles {
		t.Run(tc.file, func(t *testing.T) {
			want := readGolden(t, filepath.Join("testdata", tc.file+".golden"))
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			// One byte at a time, as well as all at once: the buffering
			// must not matter.
			for _, src := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data))} {
				rd, err := packet.NewReader(src)
				if err != nil {
					t.Fatal(err)
				}
				if rd.Format() != tc.format || rd.Nanosecond() != tc.nano {
					t.Errorf("format %v, nanosecond %v; want %v, %v", rd.Format(), rd.Nanosecond(), tc.format, tc.nano)
				}
				var got []string
				for {
					rec, err := rd.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if rec.LinkType != tc.link {
						t.Errorf("record %d: link type %v, want %v", rec.Number, rec.LinkType, tc.link)
					}
					got = append(got, fmt.Sprintf("%d %d.%09d %d %d %x", rec.Number, rec.Timestamp.Unix(), rec.Timestamp.Nanosecond(), rec.Length, len(rec.Data), rec.Data))
				}
				if rd.LinkType() != tc.link {
					t.Errorf("LinkType() = %v, want %v", rd.LinkType(), tc.link)
				}
				if rd.Offset() != int64(len(data)) {
					t.Errorf("Offset() = %d at the end, want %d", rd.Offset(), len(data))
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("records:\n%s\nwant (tshark):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
}

func readGolden(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines
}

// ng builds pcapng blocks by hand.
type ng struct {
	b     []byte
	order binary.AppendByteOrder
}

func (n *ng) block(typ uint32, body []byte) *ng {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	n.b = n.order.AppendUint32(n.b, typ)
	n.b = n.order.AppendUint32(n.b, total)
	n.b = append(n.b, body...)
	n.b = n.order.AppendUint32(n.b, total)
	return n
}

func (n *ng) section() *ng {
	body := n.order.AppendUint32(nil, 0x1a2b3c4d)
	body = n.order.AppendUint16(body, 1)
	body = n.order.AppendUint16(body, 0)
	body = n.order.AppendUint64(body, ^uint64(0))
	return n.block(0x0a0d0d0a, body)
}

// iface adds an interface; opts are (code, value) pairs.
func (n *ng) iface(link uint16, snaplen uint32, opts ...any) *ng {
	body := n.order.AppendUint16(nil, link)
	body = n.order.AppendUint16(body, 0)
	body = n.order.AppendUint32(body, snaplen)
	for i := 0; i+1 < len(opts); i += 2 {
		v := opts[i+1].([]byte)
		body = n.order.AppendUint16(body, uint16(opts[i].(int)))
		body = n.order.AppendUint16(body, uint16(len(v)))
		body = append(body, v...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	return n.block(1, body)
}

func (n *ng) epb(ifc uint32, ticks uint64, data []byte, length uint32) *ng {
	body := n.order.AppendUint32(nil, ifc)
	body = n.order.AppendUint32(body, uint32(ticks>>32))
	body = n.order.AppendUint32(body, uint32(ticks))
	body = n.order.AppendUint32(body, uint32(len(data)))
	body = n.order.AppendUint32(body, length)
	return n.block(6, append(body, data...))
}

func (n *ng) spb(data []byte, length uint32) *ng {
	return n.block(3, append(n.order.AppendUint32(nil, length), data...))
}

func (n *ng) obsolete(ifc uint16, ticks uint64, data []byte) *ng {
	body := n.order.AppendUint16(nil, ifc)
	body = n.order.AppendUint16(body, 0)
	body = n.order.AppendUint32(body, uint32(ticks>>32))
	body = n.order.AppendUint32(body, uint32(ticks))
	body = n.order.AppendUint32(body, uint32(len(data)))
	body = n.order.AppendUint32(body, uint32(len(data)))
	return n.block(2, append(body, data...))
}

func le() *ng { return &ng{order: binary.LittleEndian} }
func be() *ng { return &ng{order: binary.BigEndian} }

func i64(v int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }

// TestReaderPcapNG reads hand-made pcapng streams: every packet block,
// timestamp resolutions and offsets, several interfaces and sections.
func TestReaderPcapNG(t *testing.T) {
	frame := []byte("0123456789abcdefghij")
	for _, tc := range []struct {
		name string
		data []byte
		want []string // "number link seconds.nanoseconds length caplen"
	}{
		{"default microseconds", le().section().iface(1, 0).epb(0, 1_500_000, frame, 20).b,
			[]string{"1 1 1.500000000 20 20"}},
		{"nanoseconds", le().section().iface(1, 0, 9, []byte{9}).epb(0, 1_000_000_007, frame, 20).b,
			[]string{"1 1 1.000000007 20 20"}},
		{"picoseconds", le().section().iface(1, 0, 9, []byte{12}).epb(0, 2_000_000_001_999, frame, 20).b,
			[]string{"1 1 2.000000001 20 20"}},
		{"tenths", le().section().iface(1, 0, 9, []byte{1}).epb(0, 15, frame, 20).b,
			[]string{"1 1 1.500000000 20 20"}},
		{"binary resolution", le().section().iface(1, 0, 9, []byte{0x80 | 10}).epb(0, 3*1024+512, frame, 20).b,
			[]string{"1 1 3.500000000 20 20"}},
		{"seconds offset", le().section().iface(1, 0, 14, i64(1000)).epb(0, 2_000_000, frame, 20).b,
			[]string{"1 1 1002.000000000 20 20"}},
		{"captured less than the length", le().section().iface(1, 0).epb(0, 0, frame[:6], 1500).b,
			[]string{"1 1 0.000000000 1500 6"}},
		{"simple packet block cut by snaplen", le().section().iface(1, 8).spb(frame, 20).b,
			[]string{"1 1 0.000000000 20 8"}},
		{"obsolete packet block", le().section().iface(1, 0).iface(113, 0).obsolete(1, 7_000_000, frame).b,
			[]string{"1 113 7.000000000 20 20"}},
		{"two interfaces", le().section().iface(1, 0).iface(113, 0, 9, []byte{9}).epb(1, 5, frame, 20).epb(0, 5, frame, 20).b,
			[]string{"1 113 0.000000005 20 20", "2 1 0.000005000 20 20"}},
		{"unknown blocks are skipped", le().section().block(0x0bad, []byte("custom")).iface(1, 0).block(5, make([]byte, 12)).epb(0, 0, frame, 20).b,
			[]string{"1 1 0.000000000 20 20"}},
		{"sections change byte order and interfaces", append(le().section().iface(113, 0).epb(0, 0, frame, 20).b, be().section().iface(1, 0).epb(0, 1_000_000, frame, 20).b...),
			[]string{"1 113 0.000000000 20 20", "2 1 1.000000000 20 20"}},
		{"no packets", le().section().iface(1, 0).b, nil},
		{"empty packet", le().section().iface(1, 0).epb(0, 0, nil, 0).b, []string{"1 1 0.000000000 0 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd, err := packet.NewReader(bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				rec, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%d %d %d.%09d %d %d", rec.Number, rec.LinkType, rec.Timestamp.Unix(), rec.Timestamp.Nanosecond(), rec.Length, len(rec.Data)))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestReaderErrors: truncated, corrupt and unknown files give errors that
// say where and what.
func TestReaderErrors(t *testing.T) {
	lo, err := os.ReadFile("testdata/lo.pcap")
	if err != nil {
		t.Fatal(err)
	}
	lopng, err := os.ReadFile("testdata/lo.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	patch := func(b []byte, off int, v ...byte) []byte {
		c := bytes.Clone(b)
		copy(c[off:], v)
		return c
	}
	frame := []byte("0123456789abcdefghij")
	// lo.pcap: header 24 bytes; record 1 at 24 (16 + 50 bytes), record 2
	// at 90 (16 + 78), record 3 at 184. lo.pcapng: section header 180
	// bytes, interface 80, first packet block at 260 (84 bytes).
	for _, tc := range []struct {
		name    string
		data    []byte
		want    string
		records int  // read before the error
		eof     bool // errors.Is(err, io.ErrUnexpectedEOF)
	}{
		{name: "empty", data: nil, want: "the file ends in its first 4 bytes (0 bytes): not a pcap or pcapng file", eof: true},
		{name: "not a capture", data: []byte("GET / HTTP/1.1\r\n"), want: "not a pcap or pcapng file: it starts with 47 45 54 20"},
		{name: "ELF", data: []byte("\x7fELF\x02\x01\x01"), want: "not a pcap or pcapng file: it starts with 7f 45 4c 46"},
		{name: "short pcap header", data: lo[:20], want: "pcap header: the file ends after 20 of its 24 bytes", eof: true},
		{name: "pcap version", data: patch(lo, 4, 3, 0), want: "pcap header: version 3.4 is not 2.x"},
		{name: "kuznetzov", data: []byte{0x34, 0xcd, 0xb2, 0xa1, 2, 0, 4, 0}, want: "modified (Kuznetzov) pcap format is not supported"},
		{name: "record header cut", data: lo[:90+5], records: 1, eof: true,
			want: "record 2 at byte 90: the file ends after 5 of the record header's 16 bytes"},
		{name: "record data cut", data: lo[:90+16+10], records: 1, eof: true,
			want: "record 2 at byte 90: the file ends after 10 of the record's 78 captured bytes"},
		{name: "record data cut late", data: lo[:len(lo)-1], records: 7, eof: true,
			want: "record 8 at byte 570: the file ends after 77 of the record's 78 captured bytes"},
		{name: "huge captured length", data: patch(lo, 90+8, 0xff, 0xff, 0xff, 0x7f), records: 1,
			want: "record 2 at byte 90: captured length 2147483647 is more than 16777216: the file is corrupt"},
		{name: "pcapng section cut", data: lopng[:10], want: "pcapng section header: the file ends after 10 bytes", eof: true},
		{name: "pcapng block cut", data: lopng[:260+50], eof: true,
			want: "record 1 at byte 260: the file ends after 50 of the block's 84 bytes (type 0x6)"},
		{name: "pcapng block header cut", data: lopng[:260+84+3], records: 1, eof: true,
			want: "record 2 at byte 344: the file ends after 3 of a block header's 8 bytes"},
		{name: "pcapng trailer differs", data: patch(lopng, 260+80, 88), want: "record 1 at byte 260: block of type 0x6: its length is 84 at its start and 88 at its end"},
		{name: "pcapng length not a multiple of 4", data: patch(lopng, 260+4, 85), want: "block of type 0x6: length 85 is not a multiple of 4 between 12 and 16777216"},
		{name: "pcapng byte-order magic", data: patch(lopng, 8, 1, 2, 3, 4), want: "section header: byte-order magic 01 02 03 04 is not 1a2b3c4d"},
		{name: "pcapng version", data: patch(lopng, 12, 2), want: "pcapng version 2.0 is not 1.x"},
		{name: "pcapng packet before interface", data: le().section().epb(0, 0, frame, 20).b,
			want: "record 1 at byte 28: packet of interface 0, but the section describes 0 interfaces"},
		{name: "pcapng caplen past the block", data: func() []byte {
			b := le().section().iface(1, 0).epb(0, 0, frame, 20).b
			binary.LittleEndian.PutUint32(b[28+20+20:], 200)
			return b
		}(), want: "packet block: captured length 200 is more than the block's 20 bytes of data"},
		{name: "pcapng bad tsresol", data: le().section().iface(1, 0, 9, []byte{30}).b, want: "if_tsresol 0x1e is finer than 64-bit timestamps can count"},
		{name: "pcapng option past the block", data: func() []byte {
			b := le().section().iface(1, 0, 2, []byte("eth0")).b
			binary.LittleEndian.PutUint16(b[28+16+2:], 400)
			return b
		}(), want: "interface description: option 2 of 400 bytes runs past the block"},
		{name: "read error", data: nil, want: "read: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var src io.Reader = bytes.NewReader(tc.data)
			if tc.name == "read error" {
				src = io.MultiReader(bytes.NewReader(lo[:100]), iotest.ErrReader(errors.New("boom")))
				tc.records = 1
			}
			rd, err := packet.NewReader(src)
			n := 0
			for err == nil {
				if _, err = rd.Next(); err == nil {
					n++
				}
			}
			if err == io.EOF {
				t.Fatalf("read %d records without an error", n)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			if n != tc.records {
				t.Errorf("read %d records before the error, want %d", n, tc.records)
			}
			if got := errors.Is(err, io.ErrUnexpectedEOF); got != tc.eof {
				t.Errorf("errors.Is(err, io.ErrUnexpectedEOF) = %v, want %v", got, tc.eof)
			}
			var fe *packet.FormatError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *packet.FormatError", err)
			}
		})
	}
}

// TestWriterRoundTrip: what Writer writes, Reader reads back, and it is
// what editcap wrote for the same packets.
func TestWriterRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		file string
		nano bool
	}{{"lo.pcap", false}, {"lo-ns.pcap", true}} {
		want, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		rd, err := packet.NewReader(bytes.NewReader(want))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w, err := packet.NewWriter(&buf, packet.WriterOptions{Snaplen: rd.Snaplen(), Nanosecond: tc.nano})
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WritePacket(rec.Timestamp, rec.Data, rec.Length); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: Writer's bytes differ from editcap's:\n%s\n%s", tc.file, hex.Dump(buf.Bytes()[:64]), hex.Dump(want[:64]))
		}
	}
}

func TestLinkTypeString(t *testing.T) {
	for l, want := range map[packet.LinkType]string{
		1:    "1 (ETHERNET)",
		113:  "113 (LINUX_SLL (Linux cooked capture))",
		4242: "4242",
	} {
		if got := l.String(); got != want {
			t.Errorf("LinkType(%d).String() = %q, want %q", uint32(l), got, want)
		}
	}
}

// TestReaderAllocs: reading allocates nothing per packet.
func TestReaderAllocs(t *testing.T) {
	if raceDetector {
		t.Skip("allocations cannot be counted under the race detector")
	}
	data := pcapBytes(generate(2, 1000, exampleFlows, nil, 0))
	rd, err := packet.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	perPacket := testing.AllocsPerRun(500, func() {
		if _, err := rd.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if perPacket != 0 {
		t.Errorf("Reader.Next allocates %.2f times per packet", perPacket)
	}
}
