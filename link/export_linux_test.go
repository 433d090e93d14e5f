//go:build linux

package link

// WaitStop is waitStop, for the uprobe benchmark's raw ptrace stops: the
// same wait for both.
var WaitStop = waitStop

// RunOnTracerThread is goTracer, for the tests of the tracers' threads.
var RunOnTracerThread = goTracer
