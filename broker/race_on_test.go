//go:build race

package broker

// raceEnabled tells tests that the race detector slows them down.
const raceEnabled = true
