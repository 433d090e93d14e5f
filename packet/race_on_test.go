//go:build race

package packet_test

// raceDetector: the race detector is on. sync.Pool then drops items at
// random and instrumentation allocates, so allocation counts mean nothing.
const raceDetector = true
