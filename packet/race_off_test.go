//go:build !race

package packet_test

// raceDetector: the race detector is off.
const raceDetector = false
