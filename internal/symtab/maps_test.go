package symtab

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestParseMaps reads a /proc/PID/maps file: paths with spaces, pseudo
// paths, anonymous mappings.
func TestParseMaps(t *testing.T) {
	f, err := os.Open("testdata/pie.maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ms, err := ParseMaps(f)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		start, end, off uint64
		perms, path     string
	}
	want := []row{
		{0x55d0c8a00000, 0x55d0c8a01000, 0, "r--p", "/usr/bin/busy"},
		{0x55d0c8a01000, 0x55d0c8a02000, 0x1000, "r-xp", "/usr/bin/busy"},
		{0x7f3a1c000000, 0x7f3a1c028000, 0, "r--p", "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{0x7f3a1c028000, 0x7f3a1c1bd000, 0x28000, "r-xp", "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{0x7f3a1c400000, 0x7f3a1c421000, 0, "rw-p", "[heap]"},
		{0x7f3a1c500000, 0x7f3a1c501000, 0, "r-xp", "/tmp/a dir/with spaces.so"},
		{0x7ffd5a1e0000, 0x7ffd5a201000, 0, "rw-p", "[stack]"},
		{0x7ffd5a3f2000, 0x7ffd5a3f4000, 0, "r-xp", "[vdso]"},
		{0x7f3a1c600000, 0x7f3a1c601000, 0, "rw-p", ""},
	}
	var got []row
	for _, m := range ms {
		got = append(got, row{m.Start, m.End, m.Offset, m.Perms, m.Path})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if m := ms[1]; m.Dev == "" || m.Inode == 0 {
		t.Errorf("%+v: no device or inode", m)
	}
}

// TestParseMapsErrors checks that a bad line is refused with its number
// and what is wrong with it.
func TestParseMapsErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"00400000-00401000 r-xp 00000000 08:01\n", "line 1"},
		{"00400000 r-xp 00000000 08:01 1 /x\n", "not START-END"},
		{"0040000g-00401000 r-xp 00000000 08:01 1 /x\n", "start address \"0040000g\""},
		{"00400000-0040100z r-xp 00000000 08:01 1 /x\n", "end address"},
		{"00401000-00400000 r-xp 00000000 08:01 1 /x\n", "ends before it starts"},
		{"00400000-00401000 r-x 00000000 08:01 1 /x\n", "permissions"},
		{"00400000-00401000 r-xp 0000000q 08:01 1 /x\n", "offset"},
		{"00400000-00401000 r-xp 00000000 08:01 x /x\n", "inode"},
		{"00400000-00401000 r-xp 0 08:01 1 /x\n\n00400000-00401000\n", "line 3"},
		{"0-1 r--p 0 fd:01 1 /x\n1-2 r--p q fd:01 1 /x\n", "line 2"},
	}
	for _, c := range cases {
		_, err := ParseMaps(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

// FuzzParseMaps checks that any input parses or fails cleanly, that what
// parses has ordered ranges, and that symbolising its addresses works.
func FuzzParseMaps(f *testing.F) {
	for _, name := range []string{"testdata/pie.maps", "testdata/maps.txt"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("0-1 ---- 0 0 0\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ms, err := ParseMaps(strings.NewReader(string(in)))
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.End < m.Start || len(m.Perms) != 4 {
				t.Fatalf("bad mapping %+v", m)
			}
		}
		s := NewSymbolizer(ms, &Files{Open: func(string) (*File, error) { return &File{}, nil }})
		for _, m := range ms {
			_ = s.Symbolize(m.Start).String()
		}
	})
}
