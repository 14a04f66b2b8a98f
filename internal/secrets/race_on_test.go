//go:build race

package secrets

// raceEnabled: the race detector multiplies memory use, so the memory
// bound is not held under it.
const raceEnabled = true
