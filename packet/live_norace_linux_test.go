//go:build !race

package packet

// liveRace: the race detector is off.
const liveRace = false
