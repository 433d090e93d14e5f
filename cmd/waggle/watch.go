package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/metrics"
	"github.com/waggle-ebpf/waggle/ringbuf"
)

// This file holds what a command that runs programs for a while (attach;
// later run --pcap) shows about them: --metrics (Prometheus) and --watch
// (the maps redrawn in the terminal). The renderers are plain functions
// of their data, tested against golden text in testdata/watch.

// observeFlags are the options of --metrics and --watch.
type observeFlags struct {
	metricsAddr string
	maxEntries  int
	watch       bool
	interval    time.Duration
	rows        int
	hist        string
	eventType   string

	// histVariables: --hist may also name global integer arrays, which
	// the command (waggle trace) draws when the run ends.
	histVariables bool

	// Resolved by check.
	histMaps   map[string]bool
	eventTypes map[string]btf.Type
}

// addObserveFlags defines the --metrics and --watch options on fs.
func addObserveFlags(fs *flag.FlagSet) *observeFlags {
	o := &observeFlags{}
	fs.StringVar(&o.metricsAddr, "metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics (host:port; port 0 picks one)")
	fs.IntVar(&o.maxEntries, "max-entries", metrics.DefaultMaxEntries, "export at most `N` entries of each map as metrics (0: all)")
	fs.BoolVar(&o.watch, "watch", false, "redraw the maps in the terminal every second, and print ring buffer records as JSON")
	fs.DurationVar(&o.interval, "watch-interval", time.Second, "redraw every `D` with --watch")
	fs.IntVar(&o.rows, "watch-rows", 25, "show at most `N` entries of each map with --watch")
	fs.StringVar(&o.hist, "hist", "", "draw the maps `NAMES` (comma-separated) as log2 histograms with --watch")
	fs.StringVar(&o.eventType, "event-type", "", "decode ring buffer records with the BTF struct `NAME` (or MAP=NAME,...); default: struct event")
	return o
}

// check validates the options against the object (the maps --hist names,
// the types of --event-type) before anything starts; spec gives the BTF.
func (o *observeFlags) check(coll *waggle.Collection, spec *ebpf.CollectionSpec) error {
	if o.interval <= 0 {
		return &usageError{"--watch-interval must be positive"}
	}
	if o.rows <= 0 {
		return &usageError{"--watch-rows must be positive"}
	}
	if o.maxEntries < 0 {
		return &usageError{"--max-entries must not be negative"}
	}
	o.histMaps = nil
	if o.hist != "" {
		o.histMaps = map[string]bool{}
		for name := range strings.SplitSeq(o.hist, ",") {
			if _, ok := coll.Maps[name]; !ok {
				if _, isVar := coll.Variables[name]; isVar && o.histVariables {
					continue // waggle trace draws it at the end
				}
				return &usageError{fmt.Sprintf("--hist: the object has no map %q", name)}
			}
			o.histMaps[name] = true
		}
	}
	var err error
	o.eventTypes, err = watchEventTypes(o.eventType, coll, spec)
	return err
}

// observation is what observeFlags.start started; stop ends it.
type observation struct {
	server *metrics.Server
	watch  *watcher
	cancel context.CancelFunc
	done   chan struct{}
}

// programMetrics returns, with --metrics, the metrics of the program
// named prog, whose verdicts are named verdicts: the command gives them
// the program's runs, and passes them to start. Without --metrics it
// returns nil.
func (o *observeFlags) programMetrics(prog string, verdicts []string) *metrics.Program {
	if o.metricsAddr == "" {
		return nil
	}
	return metrics.NewProgram(prog, verdicts)
}

// start (after check), with --metrics, serves the metrics of the program
// (from programMetrics), of coll's maps and of the extra collectors, and
// with --watch starts redrawing the maps; header gives the first line of
// each frame.
func (o *observeFlags) start(coll *waggle.Collection, spec *ebpf.CollectionSpec, prog *metrics.Program,
	e *env, header func() string, extra ...metrics.Collector) (*observation, error) {
	ob := &observation{done: make(chan struct{})}
	if o.metricsAddr != "" {
		logf := func(format string, args ...any) { fmt.Fprintf(e.stderr, "waggle: "+format+"\n", args...) }
		maxEntries := o.maxEntries
		if maxEntries == 0 {
			maxEntries = -1
		}
		collectors := append([]metrics.Collector{metrics.NewMaps(coll, spec, metrics.MapOptions{MaxEntries: maxEntries, Logf: logf})}, extra...)
		if prog != nil {
			collectors = append(collectors, prog)
		}
		srv, err := metrics.Listen(o.metricsAddr, metrics.NewRegistry(collectors...))
		if err != nil {
			return nil, fmt.Errorf("--metrics: %w", err)
		}
		ob.server = srv
	}
	ctx, cancel := context.WithCancel(context.Background())
	ob.cancel = cancel
	if !o.watch {
		close(ob.done)
		return ob, nil
	}
	ob.watch = newWatcher(coll, spec, o.histMaps, o.eventTypes, o.rows)
	clearScreen := watchIsTerminal(e.stdout)
	go func() {
		defer close(ob.done)
		ob.watch.run(ctx, e.stdout, o.interval, clearScreen, header)
	}()
	return ob, nil
}

// MetricsAddr is the address the metrics are served on, or "".
func (ob *observation) MetricsAddr() string {
	if ob.server == nil {
		return ""
	}
	return ob.server.Addr()
}

// stop stops the watch and the metrics server.
func (ob *observation) stop() {
	ob.cancel()
	<-ob.done
	if ob.watch != nil {
		ob.watch.close()
	}
	if ob.server != nil {
		_ = ob.server.Close()
	}
}

// watchIsTerminal says whether w is a terminal, where --watch clears the screen
// before each frame (else frames follow each other).
func watchIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return fdIsTerminal(f.Fd())
}

// watchEventTypes finds the BTF type of each ring buffer's records:
// spec is "" (the struct named "event", if the object's BTF has one), a
// type name for every ring buffer, or MAP=NAME pairs separated by commas.
func watchEventTypes(spec string, coll *waggle.Collection, cs *ebpf.CollectionSpec) (map[string]btf.Type, error) {
	out := map[string]btf.Type{}
	var rings []string
	for name, m := range coll.Maps {
		if m.Type() == ebpf.RingBuf {
			rings = append(rings, name)
		}
	}
	lookup := func(name string) (btf.Type, error) {
		if cs == nil || cs.Types == nil {
			return nil, fmt.Errorf("the object has no BTF to find %q in", name)
		}
		t, err := cs.Types.AnyTypeByName(name)
		if err != nil {
			return nil, fmt.Errorf("the object's BTF has no type %q (a type only local variables use is not in BTF: use it in a function's signature or a global)", name)
		}
		if _, err := btf.Sizeof(t); err != nil {
			return nil, fmt.Errorf("BTF type %q has no size: %w", name, err)
		}
		return t, nil
	}
	switch {
	case spec == "":
		if cs != nil && cs.Types != nil {
			var ev *btf.Struct
			if cs.Types.TypeByName("event", &ev) == nil {
				for _, r := range rings {
					out[r] = ev
				}
			}
		}
	case !strings.Contains(spec, "="):
		t, err := lookup(spec)
		if err != nil {
			return nil, &usageError{"--event-type: " + err.Error()}
		}
		for _, r := range rings {
			out[r] = t
		}
	default:
		for pair := range strings.SplitSeq(spec, ",") {
			m, name, ok := strings.Cut(pair, "=")
			if !ok {
				return nil, &usageError{fmt.Sprintf("--event-type: %q is not MAP=NAME", pair)}
			}
			if mm, ok := coll.Maps[m]; !ok || mm.Type() != ebpf.RingBuf {
				return nil, &usageError{fmt.Sprintf("--event-type: the object has no ring buffer %q", m)}
			}
			t, err := lookup(name)
			if err != nil {
				return nil, &usageError{"--event-type: " + err.Error()}
			}
			out[m] = t
		}
	}
	return out, nil
}

// watcher redraws the maps and collects ring buffer records.
type watcher struct {
	views   []*metrics.MapView
	hist    map[string]bool
	rows    int
	readers []*ringbuf.Reader
	wg      sync.WaitGroup

	mu     sync.Mutex
	events map[string]*watchEventLog
}

// watchEventLog is the last records of a ring buffer, as JSON lines.
type watchEventLog struct {
	lines []string
	total uint64
}

// watchEventsKept is how many records of each ring buffer a frame shows.
const watchEventsKept = 10

func newWatcher(coll *waggle.Collection, spec *ebpf.CollectionSpec, hist map[string]bool, types map[string]btf.Type, rows int) *watcher {
	w := &watcher{hist: hist, rows: rows, events: map[string]*watchEventLog{}}
	names := make([]string, 0, len(coll.Maps))
	for name := range coll.Maps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := coll.Maps[name]
		var ms *ebpf.MapSpec
		if spec != nil {
			ms = spec.Maps[name]
		}
		w.views = append(w.views, metrics.NewMapView(name, m, ms))
		if m.Type() != ebpf.RingBuf {
			continue
		}
		rd, err := ringbuf.NewReader(m)
		if err != nil {
			continue
		}
		log := &watchEventLog{}
		w.events[name] = log
		w.readers = append(w.readers, rd)
		t := types[name]
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			var rec ringbuf.Record
			for {
				if err := rd.ReadInto(&rec); err != nil {
					if errors.Is(err, ringbuf.ErrClosed) {
						return
					}
					continue
				}
				line := watchEventLine(t, rec.RawSample)
				w.mu.Lock()
				log.total++
				log.lines = append(log.lines, line)
				if len(log.lines) > watchEventsKept {
					log.lines = log.lines[len(log.lines)-watchEventsKept:]
				}
				w.mu.Unlock()
			}
		}()
	}
	return w
}

// close stops reading the ring buffers.
func (w *watcher) close() {
	for _, rd := range w.readers {
		_ = rd.Close()
	}
	w.wg.Wait()
}

// run draws a frame every interval until ctx is done.
func (w *watcher) run(ctx context.Context, out io.Writer, interval time.Duration, clearScreen bool, header func() string) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var buf bytes.Buffer
		if clearScreen {
			buf.WriteString("\x1b[H\x1b[2J")
		}
		if header != nil {
			buf.WriteString(header())
			buf.WriteString("\n\n")
		}
		w.frame(&buf)
		if !clearScreen {
			buf.WriteString("\n")
		}
		_, _ = out.Write(buf.Bytes())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// frame reads every map and draws it: histograms, tables, ring buffers'
// records.
func (w *watcher) frame(out io.Writer) {
	for _, v := range w.views {
		switch {
		case v.Map.Type() == ebpf.RingBuf:
			w.mu.Lock()
			log := w.events[v.Name]
			var lines []string
			var total uint64
			if log != nil {
				lines, total = append([]string(nil), log.lines...), log.total
			}
			w.mu.Unlock()
			renderRingEvents(out, v.Name, lines, total)
		case v.Map.Type() == ebpf.ProgramArray || v.Map.Type() == ebpf.ArrayOfMaps || v.Map.Type() == ebpf.HashOfMaps:
			objs, err := v.Map.Objects()
			if err != nil {
				fmt.Fprintf(out, "map %s: %v\n\n", v.Name, err)
				continue
			}
			renderObjectMap(out, v, objs, w.rows)
		case !v.Listable():
			fmt.Fprintf(out, "map %s (%s): not shown\n\n", v.Name, v.Map.Type())
		default:
			entries, truncated, err := v.Entries(0)
			if err != nil {
				fmt.Fprintf(out, "map %s: %v\n\n", v.Name, err)
				continue
			}
			if hist, ok := watchHistograms(v, entries, w.hist[v.Name]); ok {
				renderMapHistograms(out, v, hist)
				continue
			}
			renderMapTable(out, v, entries, truncated, w.rows)
		}
	}
}

// watchEventLine is a ring buffer record as a JSON line, decoded with t (nil:
// the record in hexadecimal, as a JSON string).
func watchEventLine(t btf.Type, rec []byte) string {
	return string(metrics.AppendJSON(nil, t, rec))
}

// A map is drawn as log2 histograms, as bcc's tools draw them, when:
//
//   - it is an array or per-CPU array of at most 64 entries of a single
//     integer (a u32 or u64 per slot), and its name contains "hist", or
//     --hist names it: one histogram, slot i counting the values in
//     [2^i, 2^(i+1)) (slot 0: 0 and 1);
//   - or its value is a struct whose integer array field is named "slots"
//     (libbpf-tools' struct hist { __u32 slots[N]; }, at most 64 slots):
//     one histogram per key (--hist has nothing to force there).
//
// watchHistograms returns each histogram's title and counts, in key order.
func watchHistograms(v *metrics.MapView, entries []metrics.Entry, forced bool) ([]watchHist, bool) {
	typ := v.Map.Type()
	val := v.Value
	if (typ == ebpf.Array || typ == ebpf.PerCPUArray) && v.Map.MaxEntries() <= 64 && val.Scalar &&
		(val.Leaves[0].Kind == metrics.Unsigned || val.Leaves[0].Kind == metrics.Signed) &&
		(forced || strings.Contains(strings.ToLower(v.Name), "hist")) {
		counts := make([]uint64, v.Map.MaxEntries())
		for _, e := range entries {
			idx, ok := v.Key.Leaves[0].Number(e.Key)
			if !ok || idx < 0 || int(idx) >= len(counts) {
				continue
			}
			n, _ := v.Number(e, 0)
			counts[int(idx)] = uint64(max(n, 0))
		}
		return []watchHist{{counts: counts}}, true
	}
	// struct { ... slots[N] ... }
	var slots []int
	for i, l := range val.Leaves {
		if m := watchSlotsLeaf().FindStringSubmatch(l.Name); m != nil && l.Numeric() {
			if n, _ := strconv.Atoi(m[1]); n == len(slots) {
				slots = append(slots, i)
			}
		}
	}
	if len(slots) == 0 || len(slots) > 64 {
		return nil, false
	}
	var out []watchHist
	for _, e := range watchSorted(v.Key, entries) {
		h := watchHist{counts: make([]uint64, len(slots))}
		var key []string
		for i := range v.Key.Leaves {
			f := &v.Key.Leaves[i]
			key = append(key, watchColumn(f.Name, "key")+" = "+f.Format(e.Key))
		}
		h.title = strings.Join(key, ", ")
		for j, li := range slots {
			n, _ := v.Number(e, li)
			h.counts[j] = uint64(max(n, 0))
		}
		out = append(out, h)
	}
	return out, true
}

// watchSlotsLeaf matches the leaves of a "slots" array: slots[3],
// hist.slots[3]. Compiled when first needed, not at every start of the
// CLI (waggle verify has no use for it).
var watchSlotsLeaf = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:^|\.)slots\[(\d+)\]$`)
})

// watchHist is one histogram: its title (the key; "" for a whole map) and
// its counts per log2 slot.
type watchHist struct {
	title  string
	counts []uint64
}

// renderMapHistograms draws a map's histograms.
func renderMapHistograms(w io.Writer, v *metrics.MapView, hists []watchHist) {
	fmt.Fprintf(w, "map %s (%s, log2 histogram", v.Name, v.Map.Type())
	if v.PerCPU() {
		fmt.Fprintf(w, ", summed over %d CPUs", v.Map.CPUs())
	}
	fmt.Fprintln(w, ")")
	for _, h := range hists {
		if h.title != "" {
			fmt.Fprintf(w, "%s\n", h.title)
		}
		renderLog2Hist(w, "value", h.counts)
	}
	fmt.Fprintln(w)
}

// renderLog2Hist draws counts per log2 slot as bcc's tools do
// (print_log2_hist): slot i is the range [2^i, 2^(i+1) - 1] (slot 0: 0 to
// 1), up to the last slot with a count, with a bar of up to 40 stars (20
// when there are more than 33 slots to show).
func renderLog2Hist(w io.Writer, valType string, counts []uint64) {
	idxMax := -1
	var valMax uint64
	for i, c := range counts {
		if c > 0 {
			idxMax = i
		}
		valMax = max(valMax, c)
	}
	if idxMax < 0 {
		fmt.Fprintln(w, "     (no counts)")
		return
	}
	pad, labelWidth, stars, width := 5, 19, 40, 10
	if idxMax > 32 {
		pad, labelWidth, stars, width = 15, 29, 20, 20
	}
	fmt.Fprintf(w, "%*s%-*s : count    distribution\n", pad, "", labelWidth, valType)
	for i := 0; i <= idxMax; i++ {
		low, high := uint64(1)<<i, uint64(1)<<(i+1)-1
		if i == 63 {
			high = math.MaxUint64
		}
		if low == high {
			low--
		}
		fmt.Fprintf(w, "%*d -> %-*d : %-8d |%s|\n", width, low, width, high, counts[i], watchStars(counts[i], valMax, stars))
	}
}

// watchStars is bcc's print_stars: val/valMax of width stars, padded with
// spaces to width.
func watchStars(val, valMax uint64, width int) string {
	hi, lo := bits.Mul64(min(val, valMax), uint64(width))
	n, _ := bits.Div64(hi, lo, valMax)
	return strings.Repeat("*", int(n)) + strings.Repeat(" ", width-int(n))
}

// renderMapTable draws a map's entries (at most rows of them, in key order)
// as a table: a column per key field, then per value field; per-CPU
// values summed.
func renderMapTable(w io.Writer, v *metrics.MapView, entries []metrics.Entry, truncated bool, rows int) {
	fmt.Fprintf(w, "map %s (%s, %s", v.Name, v.Map.Type(), plural(len(entries), "entry", "entries"))
	if truncated {
		fmt.Fprint(w, " or more")
	}
	fmt.Fprintf(w, ", max %d", v.Map.MaxEntries())
	if v.PerCPU() {
		fmt.Fprintf(w, ", values summed over %d CPUs", v.Map.CPUs())
	}
	fmt.Fprintln(w, ")")
	if len(entries) == 0 {
		fmt.Fprintln(w, "  (empty)")
		fmt.Fprintln(w)
		return
	}
	sorted := watchSorted(v.Key, entries)
	more := 0
	if len(sorted) > rows {
		more = len(sorted) - rows
		sorted = sorted[:rows]
	}

	var header []string
	var right []bool
	for _, f := range v.Key.Leaves {
		header = append(header, watchColumn(f.Name, "key"))
		right = append(right, false)
	}
	for _, f := range v.Value.Leaves {
		header = append(header, watchColumn(f.Name, "value"))
		right = append(right, f.Numeric() && f.Kind != metrics.Enum && f.Kind != metrics.Bool)
	}
	cells := [][]string{header}
	for _, e := range sorted {
		row := make([]string, 0, len(header))
		for i := range v.Key.Leaves {
			row = append(row, v.Key.Leaves[i].Format(e.Key))
		}
		for i := range v.Value.Leaves {
			row = append(row, v.FormatValue(e, i))
		}
		cells = append(cells, row)
	}
	widths := make([]int, len(header))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, row := range cells {
		var b strings.Builder
		b.WriteString(" ")
		for i, c := range row {
			b.WriteString(" ")
			if right[i] {
				fmt.Fprintf(&b, "%*s", widths[i], c)
			} else {
				fmt.Fprintf(&b, "%-*s", widths[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	if more > 0 {
		fmt.Fprintf(w, "  ... and %d more\n", more)
	}
	fmt.Fprintln(w)
}

// renderObjectMap draws a prog array's programs, or a map of maps' inner
// maps, by key (at most rows of them): a column per key field, then the
// program's or map's name.
func renderObjectMap(w io.Writer, v *metrics.MapView, objs []waggle.MapObject, rows int) {
	fmt.Fprintf(w, "map %s (%s, %s, max %d)\n", v.Name, v.Map.Type(), plural(len(objs), "entry", "entries"), v.Map.MaxEntries())
	if len(objs) == 0 {
		fmt.Fprintln(w, "  (empty)")
		fmt.Fprintln(w)
		return
	}
	entries := make([]metrics.Entry, len(objs))
	names := map[string]string{}
	for i, o := range objs {
		entries[i] = metrics.Entry{Key: o.Key}
		names[string(o.Key)] = o.Name
	}
	sorted := watchSorted(v.Key, entries)
	more := 0
	if len(sorted) > rows {
		more = len(sorted) - rows
		sorted = sorted[:rows]
	}
	column := "program"
	if v.Map.Type() != ebpf.ProgramArray {
		column = "map"
	}
	var header []string
	for _, f := range v.Key.Leaves {
		header = append(header, watchColumn(f.Name, "key"))
	}
	cells := [][]string{append(header, column)}
	for _, e := range sorted {
		row := make([]string, 0, len(header)+1)
		for i := range v.Key.Leaves {
			row = append(row, v.Key.Leaves[i].Format(e.Key))
		}
		cells = append(cells, append(row, names[string(e.Key)]))
	}
	widths := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, row := range cells {
		var b strings.Builder
		b.WriteString(" ")
		for i, c := range row {
			fmt.Fprintf(&b, " %-*s", widths[i], c)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	if more > 0 {
		fmt.Fprintf(w, "  ... and %d more\n", more)
	}
	fmt.Fprintln(w)
}

// watchSorted returns the entries sorted by key, field by field: numbers
// by value, other fields by their bytes.
func watchSorted(key *metrics.Layout, entries []metrics.Entry) []metrics.Entry {
	sorted := append([]metrics.Entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].Key, sorted[j].Key
		for k := range key.Leaves {
			f := &key.Leaves[k]
			if f.Numeric() {
				x, _ := f.Number(a)
				y, _ := f.Number(b)
				if x != y {
					return x < y
				}
				continue
			}
			lo, hi := min(int(f.Offset), len(a), len(b)), min(int(f.Offset+f.Size), len(a), len(b))
			if c := bytes.Compare(a[lo:hi], b[lo:hi]); c != 0 {
				return c < 0
			}
		}
		return bytes.Compare(a, b) < 0
	})
	return sorted
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func watchColumn(name, scalar string) string {
	if name == "" {
		return scalar
	}
	return name
}

// renderRingEvents draws the last records of a ring buffer, one JSON line
// each.
func renderRingEvents(w io.Writer, name string, lines []string, total uint64) {
	fmt.Fprintf(w, "ring buffer %s: %d records", name, total)
	if total > uint64(len(lines)) {
		fmt.Fprintf(w, ", the last %d", len(lines))
	}
	fmt.Fprintln(w)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
}
