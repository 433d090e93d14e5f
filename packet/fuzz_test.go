package packet_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"

	"github.com/waggle-ebpf/waggle/packet"
)

// readerSeeds are the fuzz targets' seeds: the captures of testdata, cut
// and whole, and hand-made pcapng streams.
func readerSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.pcap*")
	for _, name := range files {
		if filepath.Ext(name) == ".golden" {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	frame := []byte("0123456789abcdefghij")
	f.Add(le().section().iface(1, 8, 9, []byte{0x8a}, 14, i64(-5)).spb(frame, 20).obsolete(0, 9, frame).epb(0, 1<<40, frame, 30).b)
	f.Add(append(be().section().iface(113, 0).b, le().section().block(0x0bad, nil).b...))
	f.Add(pcapBytes(exampleTraffic()[:5]))
}

// FuzzReader: any input gives records or an error, never a panic, and the
// same whether it arrives whole or a byte at a time.
func FuzzReader(f *testing.F) {
	readerSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := readAll(t, bytes.NewReader(data))
		bytewise := readAll(t, iotest.OneByteReader(bytes.NewReader(data)))
		if whole != bytewise {
			t.Fatalf("read whole:\n%s\nread a byte at a time:\n%s", whole, bytewise)
		}
	})
}

// readAll describes every record and the error that ends the stream.
func readAll(t *testing.T, src io.Reader) string {
	rd, err := packet.NewReader(src)
	if err != nil {
		var fe *packet.FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("NewReader: error %T is not a *FormatError: %v", err, err)
		}
		return err.Error()
	}
	var b bytes.Buffer
	last := rd.Offset()
	for n := int64(1); ; n++ {
		rec, err := rd.Next()
		if err == io.EOF {
			return b.String()
		}
		if err != nil {
			var fe *packet.FormatError
			if !errors.As(err, &fe) || fe.Record != n {
				t.Fatalf("record %d: error %T (%v) is not a *FormatError of record %d", n, err, err, n)
			}
			return b.String() + err.Error()
		}
		if rec.Number != n || rec.Offset < last || rd.Offset() <= rec.Offset || len(rec.Data) > packet.MaxRecordSize {
			t.Fatalf("record %d: number %d, offset %d (previous end %d, now %d), %d bytes", n, rec.Number, rec.Offset, last, rd.Offset(), len(rec.Data))
		}
		last = rd.Offset()
		fmt.Fprintf(&b, "%d %v %d %d %x\n", rec.Number, rec.Timestamp.UnixNano(), rec.Length, rec.LinkType, rec.Data)
	}
}

// FuzzWriter: what Writer writes, Reader reads back.
func FuzzWriter(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), int64(1700000000123456789), uint16(3), true)
	f.Add([]byte{}, int64(0), uint16(0), false)
	f.Fuzz(func(t *testing.T, data []byte, ns int64, extra uint16, nano bool) {
		ts := time.Unix(0, ns)
		if ts.Unix() < 0 || ts.Unix() > 1<<32-1 {
			return // pcap holds unsigned 32-bit seconds
		}
		var buf bytes.Buffer
		w, err := packet.NewWriter(&buf, packet.WriterOptions{Nanosecond: nano})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := w.WritePacket(ts.Add(time.Duration(i)*time.Second), data[:len(data)*i/2], len(data)+int(extra)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		rd, err := packet.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		want := ts
		if !nano {
			want = ts.Truncate(time.Microsecond)
		}
		for i := range 3 {
			rec, err := rd.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Timestamp.Equal(want.Add(time.Duration(i)*time.Second)) || !bytes.Equal(rec.Data, data[:len(data)*i/2]) || rec.Length != len(data)+int(extra) {
				t.Fatalf("record %d: %v %x %d", i, rec.Timestamp, rec.Data, rec.Length)
			}
		}
		if _, err := rd.Next(); err != io.EOF {
			t.Fatalf("after 3 records: %v", err)
		}
	})
}

// FuzzProcessPcap: any capture through a program gives the same counts,
// output and maps with one worker and with three, or the same error.
func FuzzProcessPcap(f *testing.F) {
	readerSeeds(f)
	f.Add(pcapngBytes(packetsOf(frames(runts, flowExtras)), binary.BigEndian))
	f.Fuzz(func(t *testing.T, data []byte) {
		var results [2]string
		for i, workers := range []int{1, 3} {
			coll := loadCollection(t, "../examples/flow_stats/flow_stats.o")
			var out bytes.Buffer
			st, err := packet.ProcessPcap(coll.Programs["flow_stats"], bytes.NewReader(data), &out, packet.Options{Workers: workers})
			if st != nil {
				results[i] = fmt.Sprintf("%d %d %v %d %x %v", st.Packets, st.Bytes, st.Verdicts, st.Written, out.Bytes(), dumpCounters(t, coll.Maps["flow_misc"]))
			}
			results[i] += fmt.Sprint(err)
		}
		if results[0] != results[1] {
			t.Fatalf("one worker:\n%s\nthree:\n%s", results[0], results[1])
		}
	})
}
