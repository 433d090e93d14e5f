//go:build race

package packet

// liveRace: the race detector is on; sync.Pool then drops items at random,
// so runs allocate and allocation counts mean nothing.
const liveRace = true
