package main

import (
	"fmt"
	"runtime/debug"
	"unsafe"
)

// guardMapped runs load, which reads data, a file mapped into memory by
// mapInput, and turns the fault of a read past the end of a file that was
// cut short meanwhile (SIGBUS) into an error, where it would end the
// process.
func guardMapped(data []byte, load func() error) (err error) {
	if len(data) == 0 {
		return load()
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if fault, ok := r.(interface{ Addr() uintptr }); ok {
			start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
			if a := fault.Addr(); a >= start && a-start < uintptr(len(data)) {
				err = fmt.Errorf("the file changed while it was read (cut short?): %v", r)
				return
			}
		}
		panic(r)
	}()
	return load()
}
