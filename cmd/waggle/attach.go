package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/errno"
	"github.com/waggle-ebpf/waggle/link"
	"github.com/waggle-ebpf/waggle/metrics"
	"github.com/waggle-ebpf/waggle/packet"
)

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func cmdAttach(args []string, e *env) error {
	fs := newFlags("attach", "[options] --iface IFACE PROG.o",
		"Runs an XDP, tc or socket filter program of an ELF object on the packets of a\n"+
			"network interface, received with AF_PACKET (TPACKET_V3 rings, PACKET_FANOUT\n"+
			"across --workers), and acts on its verdicts: with --peer, waggle bridges the\n"+
			"two interfaces (passed packets go out of the other one); without, it only\n"+
			"counts them (monitor mode). XDP_TX sends a packet back out of its interface,\n"+
			"a redirect (bpf_redirect, or bpf_redirect_map on a devmap) out of the attached\n"+
			"interface it names; drops are dropped. The kernel also gets every packet:\n"+
			"bridge interfaces that have no addresses (one end of a veth pair, a port of\n"+
			"its own). Needs root (CAP_NET_RAW).\n\n"+
			"SIGINT or SIGTERM stops it; it then prints the counts: packets, verdicts,\n"+
			"what was done, ring drops and errors.\n\n"+
			"--metrics serves Prometheus metrics: the program's runs, run times and\n"+
			"verdicts (waggle_program_*), the counts above (waggle_attach_*), and every\n"+
			"map's entries (waggle_map_NAME, one label per field of the BTF key, a\n"+
			"\"field\" label per numeric value field; at most --max-entries per map).\n\n"+
			"--watch redraws the maps every second: as log2 histograms like bcc's tools\n"+
			"an array of at most 64 integers whose name contains \"hist\" (or that --hist\n"+
			"names), and each entry of a map whose value struct has a \"slots\" array;\n"+
			"others as tables of their BTF fields (per-CPU values summed); ring buffer\n"+
			"records as JSON lines, decoded with the BTF struct --event-type names\n"+
			"(default: struct event; a type only local variables use is not in the\n"+
			"object's BTF: use it in a function's signature or a global).", e)
	progName := fs.String("p", "", "run the program named `NAME` of the object")
	iface := fs.String("iface", "", "the network interface `IFACE` whose packets the program sees (required)")
	peer := fs.String("peer", "", "bridge IFACE and `IFACE2`: the program sees both, passed packets go out of the other")
	workers := fs.Int("workers", 0, "`N` goroutines with a socket and ring each, fanned out by flow (0: GOMAXPROCS)")
	cpus := fs.Int("cpus", 0, "CPU slots for per-CPU maps (0: GOMAXPROCS)")
	engine := engineFlag(fs)
	memLimit := memoryLimitFlag(fs)
	budget := fs.Uint64("budget", 0, "stop a run after `N` instructions and drop its packet (0: waggle's default, 2^30)")
	timeout := fs.Duration("timeout", 0, "stop a run after `DURATION` (Go syntax: 10ms) and drop its packet (0: none)")
	var updates stringList
	fs.Var(&updates, "update", "before attaching, set a map element: `MAP:KEY:VALUE`, key and value in hex (repeatable)")
	obs := addObserveFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{"expected one PROG.o"}
	}
	if *iface == "" {
		return &usageError{"--iface is required"}
	}
	if *workers < 0 {
		return &usageError{"--workers must not be negative"}
	}
	if *timeout < 0 {
		return &usageError{fmt.Sprintf("--timeout %v must not be negative", *timeout)}
	}
	defer memLimit.apply()()

	spec, err := waggle.LoadCollectionSpec(pos[0])
	if err != nil {
		return err
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{CPUs: *cpus, Trace: e.stderr, Engine: *engine})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	defer coll.Close()
	prog, err := pickProgram(coll, *progName)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if err := obs.check(coll, spec); err != nil {
		return err
	}
	for _, u := range updates {
		if err := applyUpdate(coll, u); err != nil {
			return err
		}
	}
	kind, err := packet.KindOf(prog)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}

	// SIGINT and SIGTERM detach from the moment the program is attached.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	progMetrics := obs.programMetrics(prog.Name(), packet.LiveVerdictNames(kind))
	opts := link.PacketOptions{Iface: *iface, Peer: *peer, Workers: *workers,
		Runs: link.Runs{Budget: *budget, Timeout: *timeout}}
	if progMetrics != nil {
		opts.Observer = progMetrics
	}
	l, err := link.AttachPacket(prog, opts)
	if err != nil {
		if errors.Is(err, errno.EPERM) {
			return fmt.Errorf("%w (AF_PACKET sockets need root: CAP_NET_RAW)", err)
		}
		return err
	}
	defer l.Close()
	// The metrics and the watch start after the attachment: the link's
	// counts are among the metrics.
	ob, err := obs.start(coll, spec, progMetrics, e, linkHeader("attach", l), &packetCollector{link: l})
	if err != nil {
		return err
	}

	mode := "monitor mode: passed packets are counted"
	if *peer != "" {
		mode = "bridged to " + *peer
	}
	n := *workers
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	fmt.Fprintf(e.stderr, "waggle attach: %s (%s) attached to %s, %s, %d workers\n", prog.Name(), prog.Type(), *iface, mode, n)
	if addr := ob.MetricsAddr(); addr != "" {
		fmt.Fprintf(e.stderr, "waggle attach: metrics at http://%s/metrics\n", addr)
	}
	fmt.Fprintln(e.stderr, "waggle attach: SIGINT (Ctrl-C) or SIGTERM stops")

	runErr := runLink(ctx, l)
	stop()
	ob.stop()
	s := l.Stats()
	fmt.Fprintf(e.stdout, "waggle attach: stopped after %s\n%s", time.Since(start).Round(time.Millisecond), s)
	return runErr
}

// applyUpdate sets the map element that a --update MAP:KEY:VALUE names.
func applyUpdate(coll *waggle.Collection, u string) error {
	parts := strings.Split(u, ":")
	if len(parts) != 3 {
		return &usageError{fmt.Sprintf("--update %q: want MAP:KEY:VALUE (key and value in hex)", u)}
	}
	m, ok := coll.Maps[parts[0]]
	if !ok {
		return &usageError{fmt.Sprintf("--update: the object has no map %q", parts[0])}
	}
	key, err := hex.DecodeString(parts[1])
	if err != nil {
		return &usageError{fmt.Sprintf("--update %q: key: %v", u, err)}
	}
	value, err := hex.DecodeString(parts[2])
	if err != nil {
		return &usageError{fmt.Sprintf("--update %q: value: %v", u, err)}
	}
	if err := m.Put(key, value); err != nil {
		return fmt.Errorf("--update %q: map %s: %w", u, m.Name(), err)
	}
	return nil
}

// packetCollector exports a packet link's counts:
//
//	waggle_attach_packets_total                packets received
//	waggle_attach_bytes_total                  their bytes
//	waggle_attach_actions_total{action}        passed, forwarded, transmitted, redirected, dropped
//	waggle_attach_ring_drops_total             packets the kernel dropped (rings full)
//	waggle_attach_errors_total{kind}           run, transmit, truncated, bad_redirect
type packetCollector struct{ link *link.PacketLink }

// Collect appends the counts to fams.
func (c *packetCollector) Collect(fams []metrics.Family) ([]metrics.Family, error) {
	s := c.link.Stats()
	one := func(v uint64) []metrics.Metric { return []metrics.Metric{{Value: float64(v)}} }
	type count struct {
		label string
		n     uint64
	}
	by := func(name string, counts ...count) []metrics.Metric {
		ms := make([]metrics.Metric, len(counts))
		for i, c := range counts {
			ms[i] = metrics.Metric{Labels: []metrics.Label{{Name: name, Value: c.label}}, Value: float64(c.n)}
		}
		return ms
	}
	return append(fams,
		metrics.Family{Name: "waggle_attach_packets_total", Help: "Packets received on the attached interfaces.",
			Type: metrics.Counter, Metrics: one(s.Packets)},
		metrics.Family{Name: "waggle_attach_bytes_total", Help: "Bytes of the packets received (wire length).",
			Type: metrics.Counter, Metrics: one(s.Bytes)},
		metrics.Family{Name: "waggle_attach_actions_total",
			Help: "What was done with the packets: passed (monitor mode), forwarded (bridge), transmitted (XDP_TX), redirected, dropped.",
			Type: metrics.Counter, Metrics: by("action", count{"passed", s.Passed}, count{"forwarded", s.Forwarded},
				count{"transmitted", s.Transmitted}, count{"redirected", s.Redirected}, count{"dropped", s.Dropped})},
		metrics.Family{Name: "waggle_attach_ring_drops_total", Help: "Packets the kernel dropped because a receive ring was full.",
			Type: metrics.Counter, Metrics: one(s.RingDrops)},
		metrics.Family{Name: "waggle_attach_errors_total",
			Help: "Packets that met an error: run (the program failed), transmit, truncated (larger than a ring block), bad_redirect.",
			Type: metrics.Counter, Metrics: by("kind", count{"run", s.RunErrors}, count{"transmit", s.TxErrors},
				count{"truncated", s.Truncated}, count{"bad_redirect", s.BadRedirects})},
	), nil
}
