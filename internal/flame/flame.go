// Package flame writes profiles of stacks: folded stacks (the input of
// Brendan Gregg's flamegraph.pl, one "root;...;leaf COUNT" line a
// stack), a table of the hottest functions, and an SVG flame graph drawn
// here (rectangles whose widths are sample counts, names, a title on
// hover with the count and share).
package flame

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Stack is one stack and the samples that saw it: Frames from the root
// (the outermost caller; a profile puts the command's name first) to the
// leaf, where the samples were taken.
type Stack struct {
	Frames []string
	Count  uint64
}

// clean makes a frame name fit the folded format: no ';' (the frame
// separator) and no line breaks; an empty name is "[unknown]".
func clean(s string) string {
	if s == "" {
		return "[unknown]"
	}
	return strings.NewReplacer(";", ":", "\n", " ", "\r", " ").Replace(s)
}

// Merge adds up the counts of equal stacks and sorts them by their
// folded line; stacks without frames or samples are dropped.
func Merge(stacks []Stack) []Stack {
	byLine := map[string]*Stack{}
	var keys []string
	for _, s := range stacks {
		if len(s.Frames) == 0 || s.Count == 0 {
			continue
		}
		frames := make([]string, len(s.Frames))
		for i, f := range s.Frames {
			frames[i] = clean(f)
		}
		k := strings.Join(frames, ";")
		if e := byLine[k]; e != nil {
			e.Count += s.Count
			continue
		}
		byLine[k] = &Stack{Frames: frames, Count: s.Count}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Stack, len(keys))
	for i, k := range keys {
		out[i] = *byLine[k]
	}
	return out
}

// WriteFolded writes the stacks as folded lines, merged and sorted:
// "root;caller;leaf COUNT".
func WriteFolded(w io.Writer, stacks []Stack) error {
	bw := bufio.NewWriter(w)
	for _, s := range Merge(stacks) {
		fmt.Fprintf(bw, "%s %d\n", strings.Join(s.Frames, ";"), s.Count)
	}
	return bw.Flush()
}

// ParseFolded reads folded lines (as WriteFolded and flamegraph.pl's
// stackcollapse scripts write them). A line without a count after its
// last space, or with an empty frame, is an error naming the line.
func ParseFolded(r io.Reader) ([]Stack, error) {
	var out []Stack
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("folded line %d: no count after the stack (want \"a;b;c COUNT\")", n)
		}
		count, err := strconv.ParseUint(line[i+1:], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("folded line %d: count %q is not a non-negative integer", n, line[i+1:])
		}
		frames := strings.Split(line[:i], ";")
		for j, f := range frames {
			if f == "" {
				return nil, fmt.Errorf("folded line %d: frame %d is empty", n, j+1)
			}
		}
		out = append(out, Stack{Frames: frames, Count: count})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("folded line %d: %w", n+1, err)
	}
	return out, nil
}

// Row is one function of the table of the hottest: Self counts the
// samples taken in it (the stack's leaf), Total those with it anywhere on
// the stack (counted once a stack, however deep its recursion).
type Row struct {
	Name        string
	Self, Total uint64
}

// Top gives the n functions with the most samples of their own (Self),
// then by Total, then by name; n <= 0: all. The second value is the
// number of samples.
func Top(stacks []Stack, n int) ([]Row, uint64) {
	rows := map[string]*Row{}
	var total uint64
	get := func(name string) *Row {
		r := rows[name]
		if r == nil {
			r = &Row{Name: name}
			rows[name] = r
		}
		return r
	}
	for _, s := range Merge(stacks) {
		total += s.Count
		seen := map[string]bool{}
		// The first frame is the command, not a function: it does not
		// count unless it is the whole stack.
		frames := s.Frames
		if len(frames) > 1 {
			frames = frames[1:]
		}
		for _, f := range frames {
			if !seen[f] {
				seen[f] = true
				get(f).Total += s.Count
			}
		}
		get(frames[len(frames)-1]).Self += s.Count
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Self != b.Self {
			return a.Self > b.Self
		}
		if a.Total != b.Total {
			return a.Total > b.Total
		}
		return a.Name < b.Name
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, total
}

// WriteTop writes the table of the n hottest functions: samples of their
// own and with them on the stack, each with its share of all samples.
func WriteTop(w io.Writer, stacks []Stack, n int) error {
	rows, total := Top(stacks, n)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%d samples\n", total)
	if total == 0 {
		return bw.Flush()
	}
	fmt.Fprintf(bw, "%10s %7s %10s %7s  %s\n", "SELF", "SELF%", "TOTAL", "TOTAL%", "FUNCTION")
	for _, r := range rows {
		fmt.Fprintf(bw, "%10d %6.2f%% %10d %6.2f%%  %s\n", r.Self, pct(r.Self, total), r.Total, pct(r.Total, total), r.Name)
	}
	return bw.Flush()
}

func pct(n, total uint64) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}

// node is a frame of the flame graph: its samples, children by name.
type node struct {
	name     string
	count    uint64
	children map[string]*node
	order    []string
}

func (n *node) child(name string) *node {
	c := n.children[name]
	if c == nil {
		if n.children == nil {
			n.children = map[string]*node{}
		}
		c = &node{name: name}
		n.children[name] = c
		n.order = append(n.order, name)
	}
	return c
}

// The SVG's geometry, in pixels.
const (
	svgWidth    = 1200.0
	svgPad      = 10.0
	frameHeight = 16.0
	fontSize    = 12.0
	charWidth   = 0.59 * fontSize // average width of a glyph of the font
	minWidth    = 0.1             // frames narrower than this are not drawn
)

// WriteSVG draws the stacks as a flame graph: the root at the bottom,
// each frame a rectangle as wide as its samples' share, its callers
// below it, siblings in name order; its name when it fits and, on hover,
// a title with the name, the samples and their share.
func WriteSVG(w io.Writer, stacks []Stack, title string) error {
	root := &node{name: "all"}
	depth := 0
	for _, s := range Merge(stacks) {
		root.count += s.Count
		n := root
		for _, f := range s.Frames {
			n = n.child(f)
			n.count += s.Count
		}
		depth = max(depth, len(s.Frames))
	}
	height := 2*svgPad + 2*frameHeight + float64(depth+1)*frameHeight
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" xmlns="http://www.w3.org/2000/svg">
<style>text { font-family: Verdana, sans-serif; font-size: %.0fpx; fill: #000; } rect:hover { stroke: #000; stroke-width: 0.5; }</style>
<rect x="0" y="0" width="%.0f" height="%.0f" fill="#f8f8f0"/>
<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>
`, svgWidth, height, svgWidth, height, fontSize, svgWidth, height, svgWidth/2, svgPad+fontSize, escape(title))
	if root.count > 0 {
		scale := (svgWidth - 2*svgPad) / float64(root.count)
		var draw func(n *node, x float64, level int)
		draw = func(n *node, x float64, level int) {
			width := float64(n.count) * scale
			if width < minWidth {
				return
			}
			y := height - svgPad - float64(level+1)*frameHeight
			label := fmt.Sprintf("%s (%d samples, %.2f%%)", n.name, n.count, pct(n.count, root.count))
			fmt.Fprintf(bw, `<g><title>%s</title><rect x="%.2f" y="%.1f" width="%.2f" height="%.1f" fill="%s" rx="2" ry="2"/>`,
				escape(label), x, y, width, frameHeight-1, color(n.name, level == 0))
			if text := fit(n.name, width); text != "" {
				fmt.Fprintf(bw, `<text x="%.2f" y="%.1f">%s</text>`, x+3, y+fontSize, escape(text))
			}
			bw.WriteString("</g>\n")
			names := append([]string(nil), n.order...)
			sort.Strings(names)
			cx := x
			for _, name := range names {
				c := n.children[name]
				draw(c, cx, level+1)
				cx += float64(c.count) * scale
			}
		}
		draw(root, svgPad, 0)
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// fit gives as much of name as fits in width pixels ("na.." when cut),
// or nothing when not even three characters do.
func fit(name string, width float64) string {
	chars := int((width - 6) / charWidth)
	if chars < 3 {
		return ""
	}
	r := []rune(name)
	if len(r) <= chars {
		return name
	}
	return string(r[:chars-2]) + ".."
}

// color gives a frame a warm colour from its name, the same in every
// graph; the root is grey.
func color(name string, root bool) string {
	if root {
		return "rgb(200,200,200)"
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	return fmt.Sprintf("rgb(%d,%d,%d)", 205+v%50, 80+(v>>8)%150, (v>>16)%60)
}

// escape makes text safe in XML character data and attributes.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			if r < 0x20 && r != '\t' || r == 0xfffd || r == 0xfffe || r == 0xffff {
				b.WriteRune('?')
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
