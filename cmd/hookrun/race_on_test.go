//go:build race

package main

// raceEnabled is the [race] condition of the scripts: this test binary was
// built with the race detector.
const raceEnabled = true
