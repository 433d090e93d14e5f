// Package counter is a bpf2go project switched to waggle: counter.c, built
// and wrapped by cilium/ebpf's bpf2go, whose generated code `waggle gen`
// converts to waggle's types. The one line a bpf2go project changes is
// its go:generate line; with cilium/ebpf it was
//
//	//go:generate go run github.com/cilium/ebpf/cmd/bpf2go counter counter.c
//
// and the tests, written for cilium/ebpf (loadCounterObjects,
// Program.Test, Map.Lookup, Variable.Get), run on waggle unchanged,
// without root.
package counter

//go:generate go run github.com/waggle-ebpf/waggle/cmd/waggle gen counter counter.c
