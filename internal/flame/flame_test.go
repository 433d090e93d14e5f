package flame

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.want.* files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func readStacks(t *testing.T, name string) []Stack {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".folded"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stacks, err := ParseFolded(f)
	if err != nil {
		t.Fatal(err)
	}
	return stacks
}

// TestFolded checks that stacks come out merged and sorted, as
// flamegraph.pl reads them, and that WriteFolded's output reads back.
func TestFolded(t *testing.T) {
	for _, name := range []string{"basic", "escape", "recursion", "empty"} {
		t.Run(name, func(t *testing.T) {
			stacks := readStacks(t, name)
			var b bytes.Buffer
			if err := WriteFolded(&b, stacks); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".want.folded", b.Bytes())
			again, err := ParseFolded(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			var c bytes.Buffer
			if err := WriteFolded(&c, again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), c.Bytes()) {
				t.Errorf("folded output does not read back the same:\n%s\n%s", b.Bytes(), c.Bytes())
			}
		})
	}
}

// TestFoldedClean checks names that the format cannot hold as they are.
func TestFoldedClean(t *testing.T) {
	cases := []struct {
		frames []string
		want   string
	}{
		{[]string{"a", "operator;", "b"}, "a;operator:;b 1\n"},
		{[]string{"a", "", "b"}, "a;[unknown];b 1\n"},
		{[]string{"line\nbreak"}, "line break 1\n"},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := WriteFolded(&b, []Stack{{Frames: c.frames, Count: 1}, {Frames: nil, Count: 4}, {Frames: []string{"x"}}}); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%q: got %q, want %q", c.frames, b.String(), c.want)
		}
	}
}

// TestParseFoldedErrors checks that bad lines are refused with their
// line number and what is wrong.
func TestParseFoldedErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a;b\n", "folded line 1: no count"},
		{"a;b 1\na;b x\n", "folded line 2: count \"x\""},
		{"a;;b 3\n", "folded line 1: frame 2 is empty"},
		{"a;b -1\n", "not a non-negative integer"},
	}
	for _, c := range cases {
		_, err := ParseFolded(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

// TestTop checks the table of the hottest functions.
func TestTop(t *testing.T) {
	for _, name := range []string{"basic", "recursion", "empty"} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteTop(&b, readStacks(t, name), 10); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".want.top", b.Bytes())
		})
	}
	rows, total := Top(readStacks(t, "basic"), 1)
	if total != 100 || len(rows) != 1 || rows[0].Name != "hot" || rows[0].Self != 95 {
		t.Errorf("Top(basic, 1) = %v, %d; want hot with 95 of 100", rows, total)
	}
}

// svgDoc is what the test reads of a flame graph.
type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	Width   string   `xml:"width,attr"`
	Groups  []struct {
		Title string `xml:"title"`
		Rect  struct {
			X     float64 `xml:"x,attr"`
			Y     float64 `xml:"y,attr"`
			Width float64 `xml:"width,attr"`
		} `xml:"rect"`
		Text string `xml:"text"`
	} `xml:"g"`
}

// TestSVG checks that the flame graph is well-formed XML (encoding/xml
// parses it), has a frame per node with its name and count in the
// title, and widths in proportion to the samples.
func TestSVG(t *testing.T) {
	cases := []struct {
		name   string
		frames int // the nodes of the graph, the root "all" included
		// a frame's title and its width's share of the root's
		title string
		share float64
	}{
		{"basic", 6, "hot (95 samples, 95.00%)", 0.95},
		{"escape", 5, "a<b> (4 samples, 100.00%)", 1},
		{"recursion", 6, "main.fib (10 samples, 83.33%)", 10.0 / 12},
		{"empty", 0, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteSVG(&b, readStacks(t, c.name), "a <title> & more"); err != nil {
				t.Fatal(err)
			}
			var doc svgDoc
			if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatalf("not well-formed: %v\n%s", err, b.Bytes())
			}
			if len(doc.Groups) != c.frames {
				t.Fatalf("%d frames, want %d", len(doc.Groups), c.frames)
			}
			if c.frames == 0 {
				return
			}
			root := doc.Groups[0]
			if !strings.HasPrefix(root.Title, "all (") {
				t.Errorf("first frame %q, want the root all", root.Title)
			}
			found := false
			for _, g := range doc.Groups {
				if g.Title != c.title {
					continue
				}
				found = true
				if got := g.Rect.Width / root.Rect.Width; got < c.share-1e-3 || got > c.share+1e-3 {
					t.Errorf("%s: width %.2f of %.2f, share %.4f, want %.4f", c.title, g.Rect.Width, root.Rect.Width, got, c.share)
				}
				if g.Rect.Y >= root.Rect.Y {
					t.Errorf("%s is not above the root (y %.1f, root %.1f)", c.title, g.Rect.Y, root.Rect.Y)
				}
			}
			if !found {
				var titles []string
				for _, g := range doc.Groups {
					titles = append(titles, strconv.Quote(g.Title))
				}
				t.Errorf("no frame titled %q; have %s", c.title, strings.Join(titles, ", "))
			}
		})
	}
}

// FuzzParseFolded checks that any input parses or fails cleanly, and
// that what parses writes back as folded lines that parse to the same
// merged stacks, and draws as a well-formed SVG.
func FuzzParseFolded(f *testing.F) {
	for _, name := range []string{"basic", "escape", "recursion"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".folded"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\xff\xfe;\x01 2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		stacks, err := ParseFolded(bytes.NewReader(in))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteFolded(&b, stacks); err != nil {
			t.Fatal(err)
		}
		again, err := ParseFolded(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("WriteFolded's output does not parse: %v\n%q", err, b.Bytes())
		}
		var c bytes.Buffer
		_ = WriteFolded(&c, again)
		if !bytes.Equal(b.Bytes(), c.Bytes()) {
			t.Fatalf("not stable:\n%q\n%q", b.Bytes(), c.Bytes())
		}
		var s bytes.Buffer
		if err := WriteSVG(&s, stacks, string(in)); err != nil {
			t.Fatal(err)
		}
		var doc svgDoc
		if err := xml.Unmarshal(s.Bytes(), &doc); err != nil {
			t.Fatalf("SVG not well-formed: %v", err)
		}
	})
}
