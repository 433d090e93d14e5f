//go:build !race

package waggle_test

// redirectRace: the race detector is off.
const redirectRace = false
