//go:build race

package waggle_test

// redirectRace: the race detector is on; sync.Pool then drops items at
// random, so runs allocate and allocation counts mean nothing.
const redirectRace = true
