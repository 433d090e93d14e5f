//go:build !linux && !darwin

package main

// mapInput is readInput where waggle does not map files into memory.
func mapInput(name string, e *env) (data []byte, release func(), err error) {
	data, err = readInput(name, e)
	return data, func() {}, err
}
