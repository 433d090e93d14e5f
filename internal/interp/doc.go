// Package interp is waggle's interpreter: it lowers validated eBPF
// instructions once into a dense form (Compile: one internal opcode per
// variant, absolute jump targets, resolved helpers) and runs that form in
// a single switch loop (Program.Run) on a Machine that holds the stack
// frames, the registers and the run's memory.
//
// Registers hold real addresses, as in compiled code, and every load, store
// and atomic is checked before it touches memory: against the active stack
// frames, the run's regions (a virtual region hands the access to Go, as
// for the contexts) and the shared regions of map values, with their
// permissions. A refused access ends the run with an *engine.Error naming the
// instruction and a memory.Fault. Runs have an instruction budget and
// honour a context.Context; helpers are called through a reusable
// helper.Call, callbacks run in new frames of the same run, and tail calls
// replace the running frame's program.
package interp
