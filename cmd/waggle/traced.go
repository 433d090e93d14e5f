package main

import (
	"flag"
	"io"
	"os"

	"github.com/waggle-ebpf/waggle/link"
	"github.com/waggle-ebpf/waggle/metrics"
)

// This file holds what the commands that trace a process (exec, trace)
// share: their output options (--json, --output, --dump-maps, --metrics,
// --watch) and what they do: the records of ring buffers and perf event
// arrays printed as they come, the maps served and drawn while the link
// runs, and dumped at its end.

// outputFlags are the output options of exec and trace.
type outputFlags struct {
	asJSON   *bool
	output   *string
	dumpMaps *bool
	obs      *observeFlags
}

// addOutputFlags defines the output options on fs; what says what ends
// the run ("CMD has exited").
func addOutputFlags(fs *flag.FlagSet, what string) *outputFlags {
	return &outputFlags{
		asJSON:   fs.Bool("json", false, "print events, map dumps and the summary as JSON lines"),
		output:   fs.String("output", "", "write events, map dumps and the summary to `FILE` instead of standard error"),
		dumpMaps: fs.Bool("dump-maps", false, "print every map of the programs when "+what),
		obs:      addObserveFlags(fs),
	}
}

// tracedOutput is one run's output: the writer of whole lines (the
// output file or waggle's standard error), the event readers, and the
// observation of the first object.
type tracedOutput struct {
	flags     *outputFlags
	out       io.Writer
	closeOut  func() // closes --output's file
	w         *lineWriter
	cmdStderr io.Writer // a started command's standard error
	events    *eventReaders
	ob        *observation
}

// open opens --output and starts printing the objects' records.
func (f *outputFlags) open(e *env, objects []*execObject) (*tracedOutput, error) {
	out, closeOut, err := openOutput(e.stderr, *f.output)
	if err != nil {
		return nil, err
	}
	o := &tracedOutput{flags: f, out: out, closeOut: closeOut}
	o.w = &lineWriter{w: o.out}
	// The command's standard error and waggle's lines may go to the same
	// writer: one lock for both (an exec.Cmd copies a command's output
	// from a goroutine of its own when the writer is not a file).
	o.cmdStderr = e.stderr
	if o.out == e.stderr {
		o.cmdStderr = o.w
	}
	o.events = startEvents(objects, o.w, *f.asJSON)
	return o, nil
}

// observe starts --metrics and --watch on the first object, for link l
// of command cmd; progMetrics are the programs' metrics.
func (o *tracedOutput) observe(cmd string, first *execObject, progMetrics *metrics.Program, l link.Link, e *env) error {
	// --watch draws to waggle's output, never into the command's: the
	// terminal itself when it is one (so that frames clear the screen),
	// else through the lock.
	var watchOut io.Writer = o.w
	if f, ok := o.out.(*os.File); ok {
		watchOut = f
	}
	ob, err := o.flags.obs.start(first.coll, first.spec, progMetrics, &env{stdin: e.stdin, stdout: watchOut, stderr: o.w}, linkHeader(cmd, l))
	if err != nil {
		return err
	}
	o.ob = ob
	if addr := ob.MetricsAddr(); addr != "" {
		o.w.line("waggle " + cmd + ": metrics at http://" + addr + "/metrics")
	}
	return nil
}

// finish stops the observation and the event readers (printing the
// records still waiting) and, with --dump-maps, prints every map.
func (o *tracedOutput) finish(objects []*execObject) error {
	if o.ob != nil {
		o.ob.stop()
		o.ob = nil
	}
	if o.events != nil {
		o.events.stop()
		o.events = nil
	}
	if !*o.flags.dumpMaps {
		return nil
	}
	return dumpObjects(o.w, objects, *o.flags.asJSON)
}

// close stops what still runs (after a failure) and closes --output.
func (o *tracedOutput) close() {
	if o.ob != nil {
		o.ob.stop()
	}
	if o.events != nil {
		o.events.stop()
	}
	if o.closeOut != nil {
		o.closeOut()
	}
}
