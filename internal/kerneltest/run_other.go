//go:build !linux

package kerneltest

import (
	"runtime"

	"github.com/cilium/ebpf"
)

// Run fails: only Linux runs eBPF objects in its kernel (Available says so).
func Run(objPath, progName string, in Input) (*Result, error) { return nil, Available() }

// Verify fails: only Linux verifies eBPF objects in its kernel (Available
// says so).
func Verify(objPath string) (map[string]error, error) { return nil, Available() }

// release is the system's name: there is no Linux kernel release.
func release() string { return "(no Linux kernel: " + runtime.GOOS + ")" }

// DumpMap fails: there are no kernel maps to dump (Available says so).
func DumpMap(coll *ebpf.Collection, m *ebpf.Map) ([]KV, error) { return nil, Available() }
